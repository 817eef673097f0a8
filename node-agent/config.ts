/**
 * The agent's settings from its three sources — command-line flags, the config file
 * (/etc/cluster-agent/agent.json) and the kernel command line (cm.hub=, cm.node=, cm.key=) —
 * merged in that order of precedence into `AgentOptions`.
 */
import { parseArgs } from "node:util";
import * as z from "zod/mini";
import { ClusterError } from "../shared/errors.ts";
import { parseIntFlag } from "../shared/int_flag.ts";
import { GPIO_BACKENDS, type GpioBackend, isGpioBackend } from "../shared/pins/open.ts";
import { nodeOfAgentKey } from "../shared/agent_key.ts";
import { buildNodeMap, MAX_NODE_ID } from "../shared/node_map.ts";
import { LedEngineKind, Model, NodeId, parseOrThrow } from "../shared/wire_schemas.ts";
import type { AgentOptions } from "./agent.ts";
import { type KernelArgs, parseKernelArgs } from "./cmdline.ts";
import { readSmall, underRoot } from "./fs_root.ts";

/** The hub's address on the cluster network (bonnie, 10.42.0.250: the node map's) and API port. */
export const DEFAULT_HUB = `http://${buildNodeMap().hub.ip}:4242`;
/** Where the config file lives (under `--root`). */
export const CONFIG_PATH = "/etc/cluster-agent/agent.json";

/** The config file: every field optional. */
export const AgentConfigFile = z.strictObject({
  hub: z.optional(z.url()),
  key: z.optional(z.string().check(z.minLength(1))),
  keyFile: z.optional(z.string().check(z.minLength(1))),
  node: z.optional(NodeId),
  gpioBackend: z.optional(z.enum(GPIO_BACKENDS)),
  gpio: z.optional(z.int().check(z.minimum(0), z.maximum(63))),
  intervalMs: z.optional(z.int().check(z.minimum(100))),
  faultAfterMs: z.optional(z.int().check(z.minimum(500))),
  ledEngine: z.optional(z.enum(["kernel", "agent", "auto"])),
});
export type AgentConfigFile = z.infer<typeof AgentConfigFile>;

/** Usage text of `deno task agent --help`. */
export const USAGE = `cluster node agent: drives the bay LED (GPIO 21) and reports to the hub

  --hub URL            hub base URL (default: config, cm.hub=, else ${DEFAULT_HUB})
  --key KEY            agent key (or --key-file PATH; default: config, cm.key=)
  --key-file PATH      file holding the agent key
  --node N             node id 1-${MAX_NODE_ID} (default: config, cm.node=, hostname nodeNN)
  --sim                simulated GPIO line; allows --model and --hostname overrides
  --model M            with --sim: pi3b | pi3b+ | pi4 | pi0w
  --hostname NAME      with --sim: hostname to report
  --sim-edge-log PATH  with --sim: on exit, write the line's edges to PATH (JSON, for bench/)
  --gpio-backend B     auto | sysfs | chardev | sim (default auto)
  --led-engine E       kernel | agent: who blinks the bay LED (default: the kernel where
                       /sys/class/leds/bay has the pattern trigger, else the agent)
  --root PATH          filesystem root for identity, config and cmdline (default /)
  --sysfs-root PATH    where sysfs is (GPIO, the bay LED; default /sys; tests, benchmarks)
  --interval-ms MS     heartbeat interval until the hub says otherwise (default 1000)
  --config PATH        config file (default ${CONFIG_PATH} under --root)
  --help               this text`;

/** Parsed flags. */
export interface AgentFlags {
  hub?: string;
  key?: string;
  keyFile?: string;
  node?: number;
  sim: boolean;
  model?: Model;
  hostname?: string;
  simEdgeLog?: string;
  gpioBackend?: GpioBackend;
  ledEngine?: LedEngineKind;
  root: string;
  sysfsRoot?: string;
  intervalMs?: number;
  config?: string;
  help: boolean;
}

function bad(message: string): never {
  throw new ClusterError("bad_request", `${message} (see --help)`);
}

/** Parses the command line; throws a `bad_request` ClusterError on bad input. */
export function parseAgentFlags(args: string[]): AgentFlags {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      options: {
        hub: { type: "string" },
        key: { type: "string" },
        "key-file": { type: "string" },
        node: { type: "string" },
        sim: { type: "boolean", default: false },
        model: { type: "string" },
        hostname: { type: "string" },
        "sim-edge-log": { type: "string" },
        "gpio-backend": { type: "string" },
        "led-engine": { type: "string" },
        root: { type: "string", default: "/" },
        "sysfs-root": { type: "string" },
        "interval-ms": { type: "string" },
        config: { type: "string" },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    bad((e as Error).message);
  }
  const int = (name: string, text: string | undefined, min: number, max: number) =>
    text === undefined
      ? undefined
      : parseIntFlag(`--${name}`, text, min, max, { hint: " (see --help)" });
  if (v.model !== undefined && !z.safeParse(Model, v.model).success) {
    bad(`--model must be one of pi3b, pi3b+, pi4, pi0w, not "${v.model}"`);
  }
  if ((v.model !== undefined || v.hostname !== undefined) && !v.sim) {
    bad("--model and --hostname only go with --sim (a real node reads its own identity)");
  }
  if (v["sim-edge-log"] !== undefined && !v.sim) bad("--sim-edge-log only goes with --sim");
  const backend = v["gpio-backend"];
  if (backend !== undefined && !isGpioBackend(backend)) {
    bad(`--gpio-backend must be one of ${GPIO_BACKENDS.join(", ")}, not "${backend}"`);
  }
  if (v.key !== undefined && v["key-file"] !== undefined) bad("give --key or --key-file, not both");
  const ledEngine = v["led-engine"];
  if (ledEngine !== undefined && !z.safeParse(LedEngineKind, ledEngine).success) {
    bad(`--led-engine must be kernel or agent, not "${ledEngine}"`);
  }
  if (ledEngine === "kernel" && v.sim) bad("--led-engine kernel does not go with --sim");
  return {
    hub: v.hub,
    key: v.key,
    keyFile: v["key-file"],
    node: int("node", v.node, 1, MAX_NODE_ID),
    sim: v.sim,
    model: v.model as Model | undefined,
    hostname: v.hostname,
    simEdgeLog: v["sim-edge-log"],
    gpioBackend: backend as GpioBackend | undefined,
    ledEngine: ledEngine as LedEngineKind | undefined,
    root: v.root,
    sysfsRoot: v["sysfs-root"],
    intervalMs: int("interval-ms", v["interval-ms"], 100, 3_600_000),
    config: v.config,
    help: v.help,
  };
}

/** Reads and validates the config file; a missing file is an empty config. */
export async function readConfigFile(path: string): Promise<AgentConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new ClusterError("bad_request", `cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClusterError("bad_request", `${path} is not JSON: ${(e as Error).message}`);
  }
  return parseOrThrow(AgentConfigFile, json, path);
}

async function readKey(path: string): Promise<string> {
  try {
    const key = (await Deno.readTextFile(path)).trim();
    if (key === "") throw new Error("the file is empty");
    return key;
  } catch (e) {
    throw new ClusterError(
      "bad_request",
      `cannot read the agent key from ${path}: ${(e as Error).message}`,
    );
  }
}

/** The options of `startAgent` from flags, config file and kernel arguments (in that order). */
export async function resolveAgentOptions(
  flags: AgentFlags,
  config: AgentConfigFile,
  kernel: KernelArgs,
): Promise<AgentOptions> {
  const hub = flags.hub ?? config.hub ?? kernel.hub ?? DEFAULT_HUB;
  let key = flags.key;
  if (key === undefined && flags.keyFile) key = await readKey(flags.keyFile);
  key ??= config.key;
  if (key === undefined && config.keyFile) {
    key = await readKey(underRoot(flags.root, config.keyFile));
  }
  key ??= kernel.key;
  if (!key) {
    throw new ClusterError(
      "unauthorized",
      "no agent key: give --key or --key-file, set key/keyFile in the config file, or cm.key= " +
        "on the kernel command line",
    );
  }
  try {
    new URL(hub);
  } catch {
    bad(`hub "${hub}" is not a URL like http://10.42.0.250:4242`);
  }
  // A node's own key names its node (nodeNN.…): it is the node when nothing else says, and a
  // node id that contradicts it is a mistake the hub would refuse every heartbeat for.
  const keyNode = nodeOfAgentKey(key);
  const node = flags.node ?? config.node ?? kernel.node ?? keyNode;
  if (keyNode !== undefined && node !== keyNode) {
    throw new ClusterError(
      "bad_request",
      `the agent key is node ${keyNode}'s, but this agent is set to be node ${node}: give it ` +
        `node ${node}'s key (\`cm agent-key ${node}\` on the hub), or fix its node id`,
    );
  }
  return {
    hub,
    key,
    node,
    gpioBackend: flags.sim ? "sim" : flags.gpioBackend ?? config.gpioBackend ?? "auto",
    ledEngine: flags.sim ? "agent" : flags.ledEngine ?? config.ledEngine ?? "auto",
    gpio: config.gpio,
    root: flags.root,
    sysfsRoot: flags.sysfsRoot,
    model: flags.model,
    hostname: flags.hostname,
    intervalMs: flags.intervalMs ?? config.intervalMs,
    faultAfterMs: config.faultAfterMs,
  };
}

/** What `main.ts` runs: the agent's options, and where to write a simulated line's edges. */
export type MainOptions = AgentOptions & { simEdgeLog?: string };

/** Everything `main.ts` needs: flags parsed, config and kernel command line read. */
export async function loadAgentOptions(args: string[]): Promise<MainOptions | "help"> {
  const flags = parseAgentFlags(args);
  if (flags.help) return "help";
  const config = await readConfigFile(flags.config ?? underRoot(flags.root, CONFIG_PATH));
  const kernel = parseKernelArgs((await readSmall(flags.root, "/proc/cmdline")) ?? "");
  return { ...await resolveAgentOptions(flags, config, kernel), simEdgeLog: flags.simEdgeLog };
}
