/**
 * `cm` across a fleet of hubs: `--hub NAME` (a hub of the hubs file), `-A VERB` (every hub at
 * once), `MODULE:N` node names routed to the hub serving that module, and `cm hubs`.
 * `hub/cli/main.ts` hands over here; the verbs themselves are the single-hub ones, run once per
 * hub with the output kept apart.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { type ModuleNodeSet, parseFleetNodeSet } from "../../../shared/module_name.ts";
import type { ClusterEvent, ModuleInfo } from "../../../shared/schemas.ts";
import type { ApiClient } from "../api_client.ts";
import { type CliCommand, verbName } from "../command.ts";
import { eventsCommand, parseEventsArgs } from "../verbs/events.ts";
import { fleetNodeName } from "../../../shared/module_name.ts";
import { type HubInventory, mergeInventories, mergeReport } from "./fleet_inventory.ts";
import { hostVarsOf, inventoryArgs, inventoryCommand } from "./inventory_verb.ts";
import {
  collisionMessage,
  fanOut,
  type FanOutOptions,
  type HubOutcome,
  moduleCollisions,
  runOnHub,
} from "./fan_out.ts";
import { hubClient, pinFirstUse } from "./hub_clients.ts";
import {
  findHub,
  type HubEntry,
  type HubsFile,
  hubsFilePath,
  loadHubsFile,
  saveHubsFile,
} from "./hubs_file.ts";

/** Verbs `-A` runs on every hub (`led` is `debugled`). */
export const ALL_HUBS_VERBS = [
  "status",
  "power",
  "powerall",
  "debugled",
  "led",
  "events",
  "inventory",
];
/** Verbs that take fleet node names (`MODULE:N`, `A:1-4,B:7`). */
const MODULE_VERBS = ["status", "power", "powerall", "debugled"];
/** Verbs whose node set may span hubs (the plan is shown first). */
const SPANNING_VERBS = ["status", "powerall"];

/** A hub's deadline unless `--timeout` says otherwise: reads are quick, switching takes longer. */
export function defaultTimeoutMs(verb: string): number {
  return verb === "power" || verb === "powerall" ? 120_000 : 10_000;
}

/** What the fleet layer needs of main. */
export interface FleetIo {
  out(line: string): void;
  err(line: string): void;
  env(name: string): string | undefined;
  /** The single-hub verb by name. */
  command(name: string): CliCommand | undefined;
}

/** Options from the command line. */
export interface FleetOptions {
  json: boolean;
  /** `--timeout S`, ms. */
  timeoutMs?: number;
  /** `--yes` or CM_ASSUME_YES: switch running nodes off without asking. */
  assumeYes?: boolean;
}

/** The API client for `--hub NAME` (a name from the hubs file, not a URL). */
export async function namedHubClient(name: string, io: FleetIo): Promise<ApiClient> {
  const { file, path } = loadFleet(io);
  let hub;
  try {
    hub = findHub(file, name, path);
  } catch (e) {
    // `--hub localhost` may mean an address: say how to write one.
    if (!(e instanceof ClusterError)) throw e;
    throw new ClusterError(
      e.code,
      `${e.message}, or, for the hub at an address, add its port: ${name}:4242`,
    );
  }
  await pinFirstUse(file, [hub], path, io.err);
  return hubClient(hub);
}

function verbFor(verb: string, io: FleetIo): CliCommand {
  const name = verbName(verb);
  const c = name === "inventory" ? inventoryCommand : io.command(name);
  if (!c) throw new ClusterError("bad_request", `unknown verb "${verb}"`);
  return c;
}

/** How to run a verb on hubs, with the fleet's defaults. */
export function fanOptions(
  command: CliCommand,
  args: string[],
  opts: FleetOptions,
  verb: string,
): FanOutOptions {
  return {
    command,
    args,
    json: opts.json,
    timeoutMs: opts.timeoutMs ?? defaultTimeoutMs(verb),
    assumeYes: opts.assumeYes,
    client: (hub, timeoutMs) => hubClient(hub, timeoutMs),
  };
}

/** Saves modules learned from the hubs' answers (so MODULE:N resolves without asking). */
function rememberModules(file: HubsFile, path: string, outcomes: readonly HubOutcome[]): void {
  let changed = false;
  for (const o of outcomes) {
    if (o.module !== undefined && o.hub.module !== o.module) {
      o.hub.module = o.module;
      changed = true;
    }
  }
  if (changed) {
    try {
      saveHubsFile(path, file);
    } catch { /* a read-only hubs file: modules are asked again next time */ }
  }
}

/** Prints outcomes hub by hub; returns the exit code (the worst of all). */
export function report(outcomes: readonly HubOutcome[], opts: FleetOptions, io: FleetIo): number {
  const collisions = moduleCollisions(outcomes);
  let code = 0;
  const down = outcomes.filter((o) => o.error !== undefined);
  if (opts.json) {
    io.out(JSON.stringify(
      {
        hubs: outcomes.map((o) => {
          let result: unknown = undefined;
          if (o.out.length > 0) {
            try {
              result = JSON.parse(o.out.join("\n"));
            } catch {
              result = o.out.join("\n");
            }
          }
          return {
            hub: o.hub.name,
            url: o.hub.url,
            module: o.module ?? null,
            ok: o.error === undefined && o.code === 0,
            exitCode: o.code,
            ms: o.ms,
            ...(o.error !== undefined ? { error: o.error } : {}),
            ...(result !== undefined ? { result } : {}),
          };
        }),
        collisions: Object.fromEntries(collisions),
      },
      null,
      2,
    ));
  } else {
    for (const o of outcomes) {
      const head = o.error !== undefined && o.module === undefined
        ? `== ${o.hub.name} (${o.hub.url}): DOWN: ${o.error} ==`
        : `== ${o.hub.name} · module ${o.module} · ${o.hub.url} (${o.ms} ms) ==`;
      io.out(head);
      for (const l of o.out) io.out(l);
      for (const l of o.err) io.err(`[${o.hub.name}] ${l}`);
      if (o.error !== undefined && o.module !== undefined) io.out(`error: ${o.error}`);
    }
  }
  for (const o of outcomes) code = Math.max(code, o.code);
  for (const line of collisionMessage(collisions)) {
    io.err(`cm: ${line}`);
    code = Math.max(code, 1);
  }
  if (down.length > 0) {
    io.err(
      `cm: ${outcomes.length - down.length} of ${outcomes.length} hubs answered; failed: ${
        down.map((o) => `${o.hub.name} (${o.error})`).join("; ")
      }`,
    );
  }
  return code;
}

/** One event of a fleet's timeline: time, `MODULE:N` (or the module), type, message. */
export function fleetEventLine(e: ClusterEvent): string {
  const where = e.module === undefined
    ? (e.node === null ? "-" : `node ${e.node}`)
    : e.node === null
    ? e.module
    : fleetNodeName(e.module, e.node);
  return `${new Date(e.at).toISOString()}  ${where.padEnd(14)} ${e.type.padEnd(18)} ${e.message}`;
}

/**
 * `cm -A events [SET] [--lines N]`: `cm events` on every hub (one JSON event a line), merged
 * into one timeline.
 */
async function allEvents(
  hubs: readonly HubEntry[],
  args: string[],
  opts: FleetOptions,
  io: FleetIo,
): Promise<HubOutcome[]> {
  if (parseEventsArgs(args).follow) {
    throw new ClusterError(
      "bad_request",
      "cm -A events cannot follow (-f): follow one hub with cm --hub NAME events -f",
    );
  }
  const outcomes = await fanOut(
    hubs,
    fanOptions(eventsCommand, args, { ...opts, json: true }, "events"),
  );
  const merged: ClusterEvent[] = [];
  for (const o of outcomes) {
    if (o.error === undefined) {
      for (const line of o.out) merged.push(JSON.parse(line) as ClusterEvent);
    }
    o.out = [];
  }
  merged.sort((a, b) => a.at - b.at);
  if (opts.json) io.out(JSON.stringify(merged, null, 2));
  else for (const e of merged) io.out(fleetEventLine(e));
  return outcomes;
}

/** `cm -A inventory`: every hub's inventory merged into one. */
async function allInventories(
  hubs: readonly HubEntry[],
  args: string[],
  opts: FleetOptions,
  io: FleetIo,
): Promise<{ outcomes: HubOutcome[]; code: number }> {
  const a = inventoryArgs(args); // a usage error before any hub is asked
  const outcomes = await fanOut(
    hubs,
    fanOptions(
      inventoryCommand,
      a.running ? ["--running"] : [],
      { ...opts, json: true },
      "inventory",
    ),
  );
  const parts = outcomes.filter((o) => o.error === undefined && o.module !== undefined).map((
    o,
  ) => ({
    hub: o.hub.name,
    hubHost: new URL(o.hub.url).hostname,
    module: o.module!,
    inventory: JSON.parse(o.out.join("\n")) as HubInventory,
  }));
  for (const o of outcomes) o.out = [];
  const merged = mergeInventories(parts);
  io.out(JSON.stringify(
    a.host === undefined ? merged.inventory : hostVarsOf(merged.inventory, a.host),
    null,
    2,
  ));
  for (const line of mergeReport(merged)) io.err(`cm inventory: ${line}`);
  return { outcomes, code: merged.collisions.size > 0 ? 1 : 0 };
}

/** `cm -A VERB ARGS`: the verb on every hub of the hubs file, in parallel. */
export async function runAllHubs(
  verb: string,
  args: string[],
  opts: FleetOptions,
  io: FleetIo,
): Promise<number> {
  if (!ALL_HUBS_VERBS.includes(verb)) {
    throw new ClusterError(
      "bad_request",
      `-A runs ${ALL_HUBS_VERBS.join(", ")} on every hub, not "${verb}"`,
    );
  }
  const { file, path } = loadFleet(io);
  if (file.hubs.length === 0) {
    throw new ClusterError("bad_request", `no hubs in ${path}; add them with cm hubs add NAME URL`);
  }
  await pinFirstUse(file, file.hubs, path, io.err);
  let outcomes: HubOutcome[];
  if (verb === "inventory") {
    const inv = await allInventories(file.hubs, args, opts, io);
    rememberModules(file, path, inv.outcomes);
    // Collisions were reported with the inventory; down hubs are named here.
    const code = report(
      inv.outcomes.map((o) => ({ ...o, module: o.error === undefined ? undefined : o.module })),
      { ...opts, json: false },
      { ...io, out: () => {} },
    );
    return Math.max(code, inv.code);
  }
  if (verb === "events") {
    outcomes = await allEvents(file.hubs, args, opts, io);
    rememberModules(file, path, outcomes);
    return report(outcomes, { ...opts, json: false }, { ...io, out: () => {} });
  }
  outcomes = await fanOut(file.hubs, fanOptions(verbFor(verb, io), args, opts, verb));
  rememberModules(file, path, outcomes);
  return report(outcomes, opts, io);
}

/** Which argument holds the node set of a verb. */
function nodeArgIndex(verb: string, args: readonly string[]): number {
  if (verb === "powerall") return args.findIndex((a, i) => i > 0 && !a.startsWith("--"));
  return args.findIndex((a) => !a.startsWith("--"));
}

/**
 * Asks every hub which module it serves (in parallel) and saves the answers: modules change
 * (a hub restarted with --module), and collisions show. An unreachable hub keeps what it said
 * before.
 */
export async function refreshModules(
  file: HubsFile,
  path: string,
  opts: FleetOptions,
  io: FleetIo,
): Promise<void> {
  await pinFirstUse(file, file.hubs, path, io.err);
  const answers = await Promise.all(file.hubs.map(async (hub) => {
    try {
      return (await hubClient(hub, opts.timeoutMs ?? 10_000).get<ModuleInfo>("/module")).module;
    } catch {
      return hub.module;
    }
  }));
  file.hubs.forEach((h, i) => {
    if (answers[i] !== undefined) h.module = answers[i];
  });
  try {
    saveHubsFile(path, file);
  } catch { /* read-only: asked again next time */ }
}

/** The hubs file and its path. */
export function loadFleet(io: FleetIo): { file: HubsFile; path: string } {
  const path = hubsFilePath(io.env);
  return { file: loadHubsFile(path), path };
}

/**
 * Maps modules to hubs: the modules the hubs file knows, and for the rest each unknown hub is
 * asked (in parallel). A module served by two hubs is an error, never a merge.
 */
async function hubsForModules(
  parts: readonly ModuleNodeSet[],
  opts: FleetOptions,
  io: FleetIo,
): Promise<Map<string, HubEntry>> {
  const { file, path } = loadFleet(io);
  const known = (m: string) => file.hubs.filter((h) => h.module === m);
  if (parts.some((p) => known(p.module).length !== 1)) {
    await refreshModules(file, path, opts, io);
  }
  const out = new Map<string, HubEntry>();
  for (const p of parts) {
    const hubs = known(p.module);
    if (hubs.length === 0) {
      const modules = file.hubs.map((h) => `${h.module ?? "?"} (${h.name})`).join(", ");
      throw new ClusterError(
        "not_found",
        `no hub in ${path} serves module ${p.module} (known: ${modules || "no hubs"})`,
      );
    }
    if (hubs.length > 1) {
      throw new ClusterError(
        "conflict",
        collisionMessage(new Map([[p.module, hubs.map((h) => h.name)]]))[0],
      );
    }
    out.set(p.module, hubs[0]);
  }
  return out;
}

/**
 * `cm VERB MODULE:SET …`: each module's part runs on the hub serving it. Returns null when no
 * argument names a module (a plain single-hub call).
 */
export async function runModuleTargets(
  verb: string,
  args: string[],
  opts: FleetOptions,
  io: FleetIo,
): Promise<number | null> {
  if (!MODULE_VERBS.includes(verb)) return null;
  const at = nodeArgIndex(verb, args);
  if (at < 0) return null;
  // powerall's "FIRST LAST" form stays single-hub; a module set is one argument.
  const parts = parseFleetNodeSet(args[at]);
  if (parts === null) return null;
  if (parts.length > 1 && !SPANNING_VERBS.includes(verb)) {
    throw new ClusterError(
      "bad_request",
      `${verb} takes nodes of one module; for a set across modules use powerall (or status)`,
    );
  }
  const hubs = await hubsForModules(parts, opts, io);
  if (parts.length > 1 && !opts.json) {
    io.out(`plan: ${verb} across ${parts.length} modules, in parallel:`);
    for (const p of parts) {
      const hub = hubs.get(p.module)!;
      io.out(`  module ${p.module} (hub ${hub.name}, ${hub.url}): nodes ${p.nodes}`);
    }
  }
  const command = verbFor(verb, io);
  const outcomes = await Promise.all(parts.map((p) => {
    const a = [...args];
    a[at] = p.nodes;
    return runOnHub(hubs.get(p.module)!, {
      ...fanOptions(command, a, opts, verb),
      expectModule: p.module,
    });
  }));
  if (parts.length === 1) {
    // One hub: its output as if called directly.
    const o = outcomes[0];
    for (const l of o.out) io.out(l);
    for (const l of o.err) io.err(l);
    if (o.error !== undefined) io.err(`cm ${verb}: ${o.error}`);
    return o.code;
  }
  return report(outcomes, opts, io);
}
