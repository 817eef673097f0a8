/**
 * The heartbeat's transport: one POST at a time to one URL, answered with status and text.
 * `KeepAlivePoster` keeps one plain-HTTP/1.1 TCP connection to the hub open and reuses it for
 * every heartbeat (the request head is encoded once); `FetchPoster` goes through `fetch`
 * (https hubs, and tests or virtual agents that inject a fetch). The standalone agent on a
 * node uses the first: it costs less CPU and ~4 MiB less memory than Deno's fetch
 * (docs/agent.md#footprint).
 */

/** A reply: HTTP status and body text. */
export interface PostAnswer {
  status: number;
  text: string;
}

/** Sends one body to a fixed URL. A failure to connect or read rejects with a plain Error. */
export interface Poster {
  post(body: string, signal: AbortSignal): Promise<PostAnswer>;
  /** Drops any open connection. */
  close(): void;
}

/** Headers every request carries. */
export type FixedHeaders = Record<string, string>;

/** The largest reply accepted (the hub's replies are ~60 bytes). */
export const MAX_REPLY_BYTES = 64 * 1024;

/** `Poster` over `fetch`. */
export class FetchPoster implements Poster {
  readonly #url: string;
  readonly #headers: FixedHeaders;
  readonly #fetch: typeof fetch;

  constructor(url: string, headers: FixedHeaders, fetchFn: typeof fetch) {
    this.#url = url;
    this.#headers = headers;
    this.#fetch = fetchFn;
  }

  async post(body: string, signal: AbortSignal): Promise<PostAnswer> {
    const res = await this.#fetch(this.#url, {
      method: "POST",
      headers: this.#headers,
      body,
      signal,
    });
    return { status: res.status, text: await res.text() };
  }

  close(): void {}
}

const CRLF2 = [13, 10, 13, 10];

/** Where the head ends (index after CRLF CRLF), or -1. */
function headEnd(buf: Uint8Array, len: number): number {
  outer: for (let i = 0; i + 4 <= len; i++) {
    for (let k = 0; k < 4; k++) if (buf[i + k] !== CRLF2[k]) continue outer;
    return i + 4;
  }
  return -1;
}

/** A response head: status and the headers this client needs. */
interface Head {
  status: number;
  contentLength: number | undefined;
  chunked: boolean;
  close: boolean;
}

/** Parses a response head ("HTTP/1.1 200 OK\r\nname: value\r\n…"). */
export function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.([01]) ([0-9]{3})/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP/1.x answer: ${JSON.stringify(lines[0].slice(0, 40))}`);
  const head: Head = {
    status: Number(m[2]),
    contentLength: undefined,
    chunked: false,
    close: m[1] === "0",
  };
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === "content-length") {
      if (!/^[0-9]+$/.test(value)) throw new Error(`bad Content-Length ${JSON.stringify(value)}`);
      head.contentLength = Number(value);
    } else if (name === "transfer-encoding") head.chunked = value.includes("chunked");
    else if (name === "connection") {
      if (value.includes("close")) head.close = true;
      else if (value.includes("keep-alive")) head.close = false;
    }
  }
  return head;
}

/** Decodes a complete chunked body, or returns undefined if more bytes are needed. */
export function dechunk(bytes: Uint8Array): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (true) {
    let eol = -1;
    for (let i = at; i + 1 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10) {
        eol = i;
        break;
      }
    }
    if (eol < 0) return undefined;
    const sizeText = new TextDecoder().decode(bytes.subarray(at, eol)).split(";")[0].trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${sizeText}`);
    const size = parseInt(sizeText, 16);
    const start = eol + 2;
    if (size === 0) {
      // Trailers (none expected) end with an empty line.
      if (bytes.length < start + 2) return undefined;
      const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) (out.set(p, o), o += p.length);
      return out;
    }
    if (bytes.length < start + size + 2) return undefined;
    parts.push(bytes.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** An answer framed from the bytes read so far. */
export interface FramedAnswer extends PostAnswer {
  /** The connection ends with it (HTTP/1.0, `Connection: close`, or a body up to the close). */
  close: boolean;
}

const utf8 = new TextDecoder();

/**
 * Frames one HTTP/1.x answer from the bytes read so far: the answer once it is complete,
 * undefined while more bytes are needed. `eof`: the peer closed the connection after these
 * bytes, which ends a body without a length; any other answer still unfinished then throws,
 * as does a malformed one.
 */
export function frameAnswer(bytes: Uint8Array, eof: boolean): FramedAnswer | undefined {
  const end = headEnd(bytes, bytes.length);
  if (end < 0) {
    if (eof) throw new Error("the hub closed the connection mid-answer");
    return undefined;
  }
  const head = parseHead(utf8.decode(bytes.subarray(0, end - 4)));
  let body: Uint8Array | undefined;
  if (head.status === 204 || head.status === 304) body = new Uint8Array(0); // never a body
  else if (head.chunked) body = dechunk(bytes.subarray(end));
  else if (head.contentLength !== undefined) {
    if (bytes.length - end >= head.contentLength) {
      body = bytes.subarray(end, end + head.contentLength);
    }
  } else if (eof) body = bytes.subarray(end); // the close ends the body
  if (body === undefined) {
    if (eof) throw new Error("the hub closed the connection mid-answer");
    return undefined;
  }
  return { status: head.status, text: utf8.decode(body), close: head.close || eof };
}

/**
 * Encodes requests to `url` with the fixed `headers` (plain http: only): the head is built
 * once, and each body gets its `content-length`.
 */
export function requestEncoder(url: string, headers: FixedHeaders): (body: string) => Uint8Array {
  const u = new URL(url);
  if (u.protocol !== "http:") throw new Error(`plain HTTP only, not ${url}`);
  const lines = [`POST ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const head = lines.join("\r\n") + "\r\ncontent-length: ";
  const enc = new TextEncoder();
  return (body) => enc.encode(`${head}${enc.encode(body).length}\r\n\r\n${body}`);
}

/**
 * `Poster` over one kept-alive HTTP/1.1 connection (plain http: only). The connection is
 * opened on first use, reused while the hub keeps it open, and opened again when it was
 * closed; a request that fails on a reused connection before any byte of the answer came
 * back (the hub closed an idle connection) is sent once more on a new one.
 */
export class KeepAlivePoster implements Poster {
  readonly #host: string;
  readonly #port: number;
  readonly #encode: (body: string) => Uint8Array;
  #buf = new Uint8Array(4096);
  #conn: Deno.TcpConn | undefined;

  constructor(url: string, headers: FixedHeaders) {
    const u = new URL(url);
    if (u.protocol !== "http:") throw new Error(`KeepAlivePoster speaks http: only, not ${url}`);
    this.#host = u.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(u.port || 80);
    this.#encode = requestEncoder(url, headers);
  }

  /** True while a connection is open (for tests). */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  async post(body: string, signal: AbortSignal): Promise<PostAnswer> {
    if (signal.aborted) throw new Error("aborted");
    const request = this.#encode(body);
    const onAbort = () => this.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const reused = this.#conn !== undefined;
      try {
        return await this.#exchange(request);
      } catch (e) {
        if (!reused || signal.aborted || !(e instanceof StaleConnection)) throw unwrap(e);
        return await this.#exchange(request).catch((e2) => {
          throw unwrap(e2);
        });
      }
    } catch (e) {
      this.close();
      throw signal.aborted ? new Error("aborted") : e;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  close(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    try {
      conn?.close();
    } catch { /* already closed */ }
  }

  async #exchange(request: Uint8Array): Promise<PostAnswer> {
    const fresh = this.#conn === undefined;
    const conn = this.#conn ??= await Deno.connect({ hostname: this.#host, port: this.#port });
    try {
      for (let off = 0; off < request.length;) off += await conn.write(request.subarray(off));
    } catch (e) {
      this.close();
      throw fresh ? e : new StaleConnection(e);
    }
    let len = 0;
    while (true) {
      if (len === this.#buf.length) {
        if (len >= MAX_REPLY_BYTES) throw new Error(`hub answer over ${MAX_REPLY_BYTES} bytes`);
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      let n: number | null;
      try {
        n = await conn.read(this.#buf.subarray(len));
      } catch (e) {
        this.close();
        throw fresh || len > 0 ? e : new StaleConnection(e);
      }
      if (n === null) {
        // Closed by the hub: the end of a close-delimited body, or a stale connection.
        this.close();
        if (len === 0 && !fresh) throw new StaleConnection(new Error("connection closed"));
        const { status, text } = frameAnswer(this.#buf.subarray(0, len), true)!;
        return { status, text };
      }
      len += n;
      const answer = frameAnswer(this.#buf.subarray(0, len), false);
      if (!answer) continue;
      if (answer.close) this.close();
      return { status: answer.status, text: answer.text };
    }
  }
}

/** A reused connection that turned out to be closed before the answer began. */
class StaleConnection extends Error {
  readonly inner: unknown;
  constructor(inner: unknown) {
    super((inner as Error)?.message ?? String(inner));
    this.inner = inner;
  }
}

function unwrap(e: unknown): Error {
  return e instanceof StaleConnection ? new Error(e.message) : e as Error;
}
