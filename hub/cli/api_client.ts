/**
 * A small typed client for the hub's REST API, used by the CLI (and tests).
 * Every non-2xx answer becomes a {@link ClusterError} carrying the hub's own code and message.
 */
import { ClusterError, isErrorCode } from "../../shared/errors.ts";

/** Where the hub is and how to authenticate. */
export interface ApiClientOptions {
  /** Base URL, e.g. http://127.0.0.1:4242 */
  baseUrl: string;
  /** Bearer token for mutating calls (optional for reads). */
  token?: string;
  /** Per-request timeout, ms (default 30 000). */
  timeoutMs?: number;
  /** The HTTP client to fetch with (an https hub's pinned certificate: hub/cli/fleet/). */
  httpClient?: Deno.HttpClient;
  /** When the hub cannot be reached: a better error, if one can be found (a changed certificate). */
  explainFailure?: () => Promise<ClusterError | undefined>;
  /** Names the hub in messages (a fleet's hub name). */
  label?: string;
}

/** Calls `/api/v1/...` and parses JSON. */
export class ApiClient {
  readonly baseUrl: string;
  readonly #token?: string;
  readonly #timeoutMs: number;
  readonly #opts: ApiClientOptions;

  constructor(opts: ApiClientOptions) {
    // The hub's address; its API's own base (…/api/v1, as the docs write it) names it too.
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#opts = opts;
  }

  /**
   * Opens a WebSocket to `/api/v1${path}` (ws:// or wss:// after the base URL's scheme),
   * sending the token as an Authorization header.
   */
  openWebSocket(path: string): WebSocket {
    const url = `${this.baseUrl.replace(/^http/, "ws")}/api/v1${path}`;
    const headers: Record<string, string> = {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    return new WebSocket(url, { headers });
  }

  /** GET `/api/v1${path}`. */
  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** POST `/api/v1${path}` with a JSON body. */
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** Any method on `/api/v1${path}`. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.#opts.httpClient ? { client: this.#opts.httpClient } : {}),
      });
    } catch (e) {
      const better = await this.#opts.explainFailure?.();
      if (better) throw better;
      const why = e instanceof Error ? e.message : String(e);
      const hub = this.#opts.label ? `hub ${this.#opts.label}` : "the hub";
      throw new ClusterError(
        "not_ready",
        `cannot reach ${hub} at ${this.baseUrl} (${why}); is it running? (set CM_HUB or --hub)`,
      );
    }
    const text = await res.text();
    let data: unknown = undefined;
    if (text !== "") {
      try {
        data = JSON.parse(text);
      } catch {
        throw new ClusterError(
          "internal",
          `hub answered ${res.status} with non-JSON: ${text.slice(0, 200)}`,
        );
      }
    }
    if (!res.ok) {
      const err =
        (data as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
          ?.error;
      const code = isErrorCode(err?.code) ? err.code : "internal";
      throw new ClusterError(code, err?.message ?? `hub answered HTTP ${res.status}`, err?.details);
    }
    return data as T;
  }
}
