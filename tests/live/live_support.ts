/** Helpers for the live-view tests: a hub served on loopback, heartbeats, an SSE reader. */
import {
  type ServedHub as LoopbackHub,
  serveTestHub as serveOnLoopback,
  type startTestHub,
  type TestHub,
} from "../support/test_hub.ts";
import type { ClusterEvent, LedMode, Model } from "../../shared/schemas.ts";
import { sampleHealth, sampleHeartbeat } from "../support/samples.ts";

/** A started hub served on 127.0.0.1 (port 0), as the live-view tests use it. */
export interface ServedHub extends LoopbackHub {
  base: string;
  port: number;
  /** Ends open event streams and sockets, stops the server and removes the data dir. */
  stop(): Promise<void>;
}

/** Builds a hub in a temp dir and serves it with Deno.serve on a free loopback port. */
export async function serveTestHub(
  opts: Parameters<typeof startTestHub>[0] = {},
): Promise<ServedHub> {
  const t = await serveOnLoopback(opts);
  return {
    ...t,
    base: t.url,
    port: Number(new URL(t.url).port),
    async stop() {
      await t.hub.close(); // ends open event streams and sockets, so the server can finish
      await t.stopServing();
      await Deno.remove(t.dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A valid heartbeat body whose figures differ per node (the metrics test reads them back). */
export function heartbeatBody(
  node: number,
  opts: {
    model?: Model;
    led?: LedMode;
    seq?: number;
    temp?: number | null;
    load1?: number;
    /** The firmware's throttling flags (absent unless given). */
    throttled?: number;
  } = {},
) {
  return sampleHeartbeat(node, {
    identity: { model: opts.model ?? "pi3b+", serial: `00000000${String(node).padStart(8, "0")}` },
    health: sampleHealth({
      uptimeSeconds: 100 + node,
      load1: opts.load1 ?? node / 100,
      memTotalBytes: 1024 * 1024 * 1024,
      memAvailableBytes: 512 * 1024 * 1024 + node,
      cpuTempCelsius: opts.temp === undefined ? 40 + node / 10 : opts.temp,
      ...(opts.throttled === undefined ? {} : { throttled: opts.throttled }),
    }),
    led: opts.led ?? "heartbeat",
    seq: opts.seq ?? 1,
    sentAt: Date.now(),
  });
}

/** Posts a heartbeat with the agent key; throws unless 200. */
export async function sendHeartbeat(
  t: TestHub,
  node: number,
  opts: Parameters<typeof heartbeatBody>[1] = {},
): Promise<void> {
  const res = await t.call("POST", "/api/v1/agent/heartbeat", heartbeatBody(node, opts), {
    auth: t.hub.agentKeys.keyFor(node), // the node's own key, as a real agent sends
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`heartbeat for node ${node}: ${res.status} ${text}`);
}

/** One parsed SSE message (or comment block). */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** Reads an SSE response incrementally. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  readonly messages: SseMessage[] = [];

  constructor(res: Response) {
    if (!res.body) throw new Error("no body");
    this.#reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Reads until `pred` holds for the messages so far, or fails after `timeoutMs`. */
  async until(pred: (m: SseMessage[]) => boolean, timeoutMs = 10_000): Promise<SseMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE condition not met; got ${this.messages.length} messages`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), left)));
      const chunk = await Promise.race([this.#reader.read(), timeout]);
      clearTimeout(timer);
      if (chunk === null) continue;
      if (chunk.done) throw new Error("SSE stream ended");
      this.#buf += chunk.value;
      let i;
      while ((i = this.#buf.indexOf("\n\n")) >= 0) {
        const block = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        this.messages.push(parseBlock(block));
      }
    }
    return this.messages;
  }

  /** Event messages parsed as ClusterEvents. */
  events(): ClusterEvent[] {
    return this.messages.filter((m) => m.data !== undefined).map((m) => JSON.parse(m.data!));
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function parseBlock(block: string): SseMessage {
  const m: SseMessage = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      m.comment = (m.comment ? m.comment + "\n" : "") + line.slice(1).trim();
      continue;
    }
    const c = line.indexOf(":");
    const field = c < 0 ? line : line.slice(0, c);
    const value = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
    if (field === "data") m.data = m.data === undefined ? value : m.data + "\n" + value;
    else if (field === "id" || field === "event" || field === "retry") m[field] = value;
    else throw new Error(`unexpected SSE field in line "${line}"`);
  }
  return m;
}

/** Waits until `pred()` is true, polling every `everyMs`. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
