/**
 * A fake hub for agent tests: the heartbeat endpoint only, validating like the real one
 * (Bearer key, JSON body checked with the shared `Heartbeat` schema, `ErrorBody` errors).
 * Use `fetch` in-process (with FakeClock), or `serve()` for a real HTTP listener.
 */
import type { Clock } from "../../shared/clock.ts";
import { type Heartbeat, Heartbeat as HeartbeatSchema } from "../../shared/schemas.ts";
import type { HeartbeatReply, LedMode } from "../../shared/schemas.ts";

/** One request the hub received. */
export interface Received {
  at: number;
  auth: string | null;
  /** The body if it was a valid Heartbeat. */
  heartbeat?: Heartbeat;
  status: number;
}

/** How the fake hub behaves. */
export type HubBehaviour = "up" | "down" | "hang" | "error500";

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/** The fake hub. */
export class FakeHub {
  readonly received: Received[] = [];
  behaviour: HubBehaviour = "up";
  /** LED mode to ask for in replies. */
  led: LedMode | null = null;
  intervalMs = 1000;
  /** Node id to answer with when the heartbeat carries none. */
  defaultNode = 5;
  /**
   * Holds an answer the heartbeat's `holdMs` when it tells the agent nothing new (its `led`
   * is the mode asked for), as the hub does when nothing changes meanwhile (no early release).
   */
  holds = false;

  constructor(readonly clock: Clock, readonly key = "test-key") {}

  /** Heartbeats accepted (status 200). */
  get accepted(): Heartbeat[] {
    return this.received.filter((r) => r.status === 200).map((r) => r.heartbeat!);
  }

  /** Handles one HTTP request as the hub would. */
  async handle(req: Request): Promise<Response> {
    const auth = req.headers.get("authorization");
    const rec: Received = { at: this.clock.now(), auth, status: 0 };
    this.received.push(rec);
    const respond = (r: Response) => {
      rec.status = r.status;
      return r;
    };
    if (this.behaviour === "error500") {
      return respond(error(500, "internal", "database is locked"));
    }
    if (new URL(req.url).pathname !== "/api/v1/agent/heartbeat" || req.method !== "POST") {
      return respond(error(404, "not_found", `no route ${req.method} ${req.url}`));
    }
    if (auth !== `Bearer ${this.key}`) {
      return respond(error(401, "unauthorized", "missing or wrong agent key"));
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return respond(error(400, "bad_request", "body is not JSON"));
    }
    const hb = HeartbeatSchema.safeParse(body);
    if (!hb.success) return respond(error(400, "invalid_body", hb.error.message));
    rec.heartbeat = hb.data;
    if (this.holds && hb.data.holdMs && hb.data.led === (this.led ?? "heartbeat")) {
      await this.clock.sleep(hb.data.holdMs);
    }
    const reply: HeartbeatReply = {
      node: hb.data.identity.node ?? this.defaultNode,
      led: this.led,
      intervalMs: this.intervalMs,
    };
    return respond(Response.json(reply));
  }

  /** A `fetch` reaching this hub in-process; "down" refuses, "hang" waits until aborted. */
  readonly fetch: typeof fetch = (input, init) => {
    const req = new Request(input, init);
    if (this.behaviour === "down") {
      this.received.push({ at: this.clock.now(), auth: null, status: 0 });
      return Promise.reject(
        new TypeError(
          "error sending request: tcp connect error: Connection refused (os error 111)",
        ),
      );
    }
    if (this.behaviour === "hang") {
      this.received.push({ at: this.clock.now(), auth: null, status: 0 });
      return new Promise((_, reject) => {
        const signal = init?.signal;
        signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      });
    }
    return this.handle(req);
  };

  /** Serves on 127.0.0.1, a free port; returns the base URL and a shutdown function. */
  serve(): { url: string; close: () => Promise<void> } {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) =>
        this.behaviour === "up" || this.behaviour === "error500"
          ? this.handle(req)
          : error(503, "not_ready", "hub is starting"),
    );
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
  }
}
