/**
 * The hub as its own process, as its unit runs it (hubProcessArgs): for the fault tests and
 * benchmarks that must see the process survive, and measure its memory.
 */
import { hubProcessArgs } from "./hub_process_args.ts";

/** A running hub process. */
export class HubProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly #child: Deno.ChildProcess;
  readonly #output: { text: string };
  readonly #drained: Promise<void>;

  private constructor(
    child: Deno.ChildProcess,
    url: string,
    dataDir: string,
    output: { text: string },
    drained: Promise<void>,
  ) {
    this.#child = child;
    this.url = url;
    this.port = Number(new URL(url).port);
    this.dataDir = dataDir;
    this.#output = output;
    this.#drained = drained;
  }

  /**
   * Starts a hub on a free port with `dataDir`; resolves once it is ready (rails read). With
   * `agents`, the virtual cluster's agents run as with `deno task hub`.
   */
  static async start(
    dataDir: string,
    extra: string[] = [],
    opts: { agents?: boolean } = {},
  ): Promise<HubProcess> {
    const args = hubProcessArgs(dataDir, extra).filter((a) => !opts.agents || a !== "--no-agents");
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: new URL("../..", import.meta.url).pathname, // the repository (hub/main.ts)
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = { text: "" };
    let resolveUrl!: (url: string) => void;
    const urlSeen = new Promise<string>((r) => resolveUrl = r);
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        output.text += chunk;
        const url = output.text.match(/on (http:\/\/[^\s]+)/)?.[1];
        if (url && output.text.includes("hub: ready")) resolveUrl(url);
      }
    };
    const drained = Promise.all([drain(child.stdout), drain(child.stderr)]).then(() => {});
    const url = await Promise.race([
      urlSeen,
      child.status.then((s) => {
        throw new Error(`the hub exited (${s.code}) before listening:\n${output.text}`);
      }),
    ]);
    return new HubProcess(child, url, dataDir, output, drained);
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything it printed so far (stdout and stderr). */
  get output(): string {
    return this.#output.text;
  }

  /** Its resident memory now, bytes (VmRSS). */
  rss(): number {
    const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
    const kb = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1]);
    return kb * 1024;
  }

  /** True while the process runs. */
  alive(): boolean {
    try {
      Deno.statSync(`/proc/${this.pid}`);
      const state = Deno.readTextFileSync(`/proc/${this.pid}/stat`).split(") ")[1]?.[0];
      return state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  }

  /** A request with the admin token ("T"). */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", "Bearer T");
    if (init.body !== undefined) headers.set("content-type", "application/json");
    return fetch(`${this.url}${path}`, { ...init, headers });
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s); resolves with its exit code. */
  async stop(): Promise<number> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#drained;
    return status.code;
  }
}
