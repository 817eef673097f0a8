/**
 * The HTTP server behind the TcpGate: `Deno.serve` on an internal loopback port, started
 * again if it fails. `Deno.serve` ends when its accept loop fails (e.g. `Too many open files`
 * at a moment the process has no fd left); the gate keeps the fd budget so this should not
 * happen, and if it does the hub logs it and serves on a fresh port instead of exiting.
 * Connections the failed server had accepted are still answered by it.
 */

/** Handles one request (as `Deno.serve`'s handler). */
export type Handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) =>
  | Response
  | Promise<Response>;

/** What the handler needs of the gate: the client behind an internal connection. */
export interface ClientLookup {
  clientAddress(internalPort: number): Deno.NetAddr | undefined;
  /** True when the connection came through the plain agent port (agent routes only). */
  agentOnly?(internalPort: number): boolean;
}

/** The paths the plain agent port serves (beside an HTTPS port). */
export const AGENT_PATH_PREFIX = "/api/v1/agent/";

/** The app as `Deno.serve` calls it. */
export interface FetchApp {
  fetch(req: Request, info: Deno.ServeHandlerInfo): Response | Promise<Response>;
}

/**
 * The internal server's handler: refuses requests that did not come through the gate (403),
 * answers 503 until the app is built, and hands the app the client's real address.
 */
export function gatedHandler(gate: () => ClientLookup | null, app: () => FetchApp | null): Handler {
  return (req, info) => {
    const lookup = gate();
    const client = lookup?.clientAddress(info.remoteAddr.port);
    if (client === undefined) {
      return Response.json({
        error: { code: "forbidden", message: "connect to the hub's port, not its internal one" },
      }, { status: 403 });
    }
    if (
      lookup?.agentOnly?.(info.remoteAddr.port) &&
      !new URL(req.url).pathname.startsWith(AGENT_PATH_PREFIX)
    ) {
      return Response.json({
        error: {
          code: "forbidden",
          message:
            "this plain-HTTP port serves the node agents only; use the hub's HTTPS port for the API",
        },
      }, { status: 403 });
    }
    const a = app();
    if (!a) {
      return Response.json(
        { error: { code: "not_ready", message: "the hub is starting; try again in a moment" } },
        { status: 503 },
      );
    }
    // Routes see the client's address and port (per-address caps, audit), not the gate's.
    return a.fetch(req, {
      remoteAddr: client,
      get completed() {
        return settledQuietly(info);
      },
    });
  };
}

/**
 * `info.completed`, read only when asked for, with its rejection handled. Deno makes that promise
 * on first read and rejects it when the response could not be sent (a client that went away, an
 * h2c stream cut by the gate's timeout); unhandled, that rejection would end the hub. A caller
 * that awaits the returned promise still sees the rejection.
 */
function settledQuietly(info: Deno.ServeHandlerInfo): Promise<void> {
  const completed = info.completed;
  completed.catch(() => {});
  return completed;
}

/** A self-restarting `Deno.serve` on 127.0.0.1. */
export class InternalServer {
  readonly #handler: Handler;
  readonly #signal: AbortSignal;
  readonly #log: (line: string) => void;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #onPort: (port: number) => void = () => {};
  /** How often the server had to be started again. */
  restarts = 0;

  constructor(handler: Handler, signal: AbortSignal, log = (l: string) => console.error(l)) {
    this.#handler = handler;
    this.#signal = signal;
    this.#log = log;
    this.#server = this.#serve();
  }

  /** The port it listens on now. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Called with the new port after a restart. */
  onPortChange(fn: (port: number) => void): void {
    this.#onPort = fn;
  }

  #serve(): Deno.HttpServer<Deno.NetAddr> {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: this.#signal, onListen: () => {} },
      this.#handler,
    );
    // Handled at once: a failure must never become an unhandled rejection (which ends Deno).
    server.finished.catch((e) => this.#restart(e));
    return server;
  }

  async #restart(e: unknown): Promise<void> {
    if (this.#signal.aborted) return;
    this.#log(
      `hub: the HTTP server failed (${e instanceof Error ? e.message : e}); starting it again`,
    );
    for (let wait = 100; !this.#signal.aborted; wait = Math.min(wait * 2, 2000)) {
      await new Promise((r) => setTimeout(r, wait));
      try {
        this.#server = this.#serve();
        this.restarts++;
        this.#onPort(this.#server.addr.port);
        return;
      } catch (again) {
        this.#log(`hub: cannot serve yet (${again instanceof Error ? again.message : again})`);
      }
    }
  }

  /** Resolves once the signal has stopped the server (and the one it replaced, if any). */
  async finished(): Promise<void> {
    for (;;) {
      const server = this.#server;
      await server.finished.catch(() => {});
      if (server === this.#server && this.#signal.aborted) return;
      if (server === this.#server) await new Promise((r) => setTimeout(r, 50));
    }
  }
}
