/** A console WebSocket client for tests: collects output and control frames, types input. */
import type { ConsoleServerFrame } from "../../shared/console_schemas.ts";

/** One console socket to a served hub. */
export class ConsoleClient {
  readonly ws: WebSocket;
  readonly frames: ConsoleServerFrame[] = [];
  #output = "";
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;

  constructor(base: string, node: number, token: string, query = "") {
    const url = `${base.replace(/^http/, "ws")}/api/v1/nodes/${node}/console/ws${
      query ? `?${query}` : ""
    }`;
    this.ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    this.ws.binaryType = "arraybuffer";
    const dec = new TextDecoder();
    this.ws.onmessage = (e) => {
      if (typeof e.data === "string") this.frames.push(JSON.parse(e.data));
      else this.#output += dec.decode(new Uint8Array(e.data as ArrayBuffer), { stream: true });
    };
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error("console WebSocket failed"));
    });
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (e) => resolve(e));
    });
  }

  /** Console output received so far, as text. */
  get output(): string {
    return this.#output;
  }

  /** Frames of one type. */
  ofType<T extends ConsoleServerFrame["type"]>(type: T) {
    return this.frames.filter((f) => f.type === type) as Extract<ConsoleServerFrame, { type: T }>[];
  }

  /** Types `text` as a binary frame. */
  type(text: string): void {
    this.ws.send(new TextEncoder().encode(text));
  }

  /** Sends a JSON control frame. */
  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Waits until `pred` holds. */
  async until(pred: (c: ConsoleClient) => boolean, what: string, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; output: ${
            JSON.stringify(this.#output.slice(-400))
          }, frames: ${JSON.stringify(this.frames.slice(-5))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState < WebSocket.CLOSING) this.ws.close(1000, "test done");
    await this.closed;
  }
}
