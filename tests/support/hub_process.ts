/**
 * The hub as its own process (`hub/main.ts`, all permissions, any free port, a throwaway data
 * dir, token `T`), with the virtual cluster's agents unless told otherwise: what a user runs
 * with `deno task hub`. The output is drained the whole time and returned by `close()`.
 */
import { hubProcessArgs } from "./hub_process_args.ts";

/** A running hub process. */
export interface HubProcess {
  url: string;
  dataDir: string;
  /** Stops the hub (SIGTERM, then SIGKILL) and removes its data dir; returns its output. */
  close(): Promise<string>;
}

/** Starts the hub; `extra` are more hub flags (e.g. `--sim-boot-ms 300`). */
export async function startHubProcess(
  extra: string[] = [],
  opts: { agents?: boolean } = {},
): Promise<HubProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: "cm-hub-proc-" });
  const args = hubProcessArgs(dataDir, extra).filter((a) =>
    opts.agents === false || a !== "--no-agents"
  );
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let announce!: (url: string) => void;
  const listening = new Promise<string>((r) => (announce = r));
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      const url = out.match(/on (http:\/\/[^\s]+)/)?.[1];
      if (url) announce(url);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
    await drained;
    await Deno.remove(dataDir, { recursive: true });
    return out;
  };
  const url = await Promise.race([
    listening,
    child.status.then(() => ""),
  ]);
  if (!url) {
    const text = await close();
    throw new Error(`the hub exited before listening:\n${text}`);
  }
  return { url, dataDir, close };
}
