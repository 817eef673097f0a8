/**
 * Request bodies: read with a size limit, their Content-Type checked, then decoded and
 * validated as JSON. A check, not a middleware: `createApp` calls `readBody` inside each
 * route's handler, so the heartbeat ingest reads its body once, with no middleware hop
 * (docs/benchmarks.md has the figures).
 */
import type { Context } from "hono";
import type { z } from "zod";
import { ClusterError } from "../../../shared/errors.ts";
import { parseOrThrow } from "../../../shared/schemas.ts";
import { BODY, decodeJson, notJson } from "../decode_json.ts";

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 64 * 1024;

function tooLarge(limit: number): ClusterError {
  return new ClusterError("payload_too_large", BODY.tooLarge(limit));
}

/**
 * A body whose connection broke before it was complete (the client went away): the client's
 * doing, so a 400 that is not logged, never an internal error with a stack trace.
 */
function cutOff(e: unknown): never {
  if (e instanceof ClusterError) throw e;
  throw new ClusterError(
    "bad_request",
    `the request body was cut off before it was complete (${
      e instanceof Error ? e.message : String(e)
    })`,
  );
}

/**
 * A JSON body may come with no Content-Type or a JSON one (`application/json`, any
 * `application/*+json`, parameters such as charset allowed); anything else is refused.
 */
export function isJsonContentType(header: string | null): boolean {
  if (header === null) return true;
  const type = header.split(";", 1)[0].trim().toLowerCase();
  return type === "" || type === "application/json" ||
    /^application\/[a-z0-9.+-]*\+json$/.test(type);
}

/**
 * Reads a request body as text, refusing more than `limit` bytes: at once when the declared
 * Content-Length says so, else while streaming, so a huge chunked body is never buffered.
 */
export async function readLimitedText(req: Request, limit: number): Promise<string> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  // With a declared length, `text()` takes the whole body in one op, never building a stream.
  // Merely reading `req.body` would make Deno build one and lose that fast path.
  if (declared !== null) return await req.text().catch(cutOff);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(cutOff);
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

function checkJsonType(type: string | null): void {
  if (isJsonContentType(type)) return;
  throw new ClusterError(
    "unsupported_media_type",
    `the body must be JSON sent as Content-Type: application/json, not ${type}` +
      " (with curl: -H 'content-type: application/json')",
  );
}

/** Reads and validates a JSON body. */
export async function readBody<T>(
  c: Context,
  schema: z.core.$ZodType<T>,
  optional = false,
): Promise<T> {
  const req = c.req.raw;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (!optional && declared > 0 && declared <= MAX_BODY_BYTES) {
    // A required body of declared length (every agent heartbeat): Deno's `json()` takes the
    // body and parses it in one step, without the Body machinery `text()` goes through.
    checkJsonType(c.req.header("content-type") ?? null);
    let value: unknown;
    try {
      value = await req.json();
    } catch (e) {
      if (e instanceof SyntaxError) throw notJson(BODY, e);
      cutOff(e);
    }
    return parseOrThrow(schema, value, BODY.what);
  }
  const text = await readLimitedText(req, MAX_BODY_BYTES);
  if (text !== "") checkJsonType(c.req.header("content-type") ?? null);
  if (text.trim() === "") {
    if (!optional) throw new ClusterError("invalid_body", "this call needs a JSON body");
    return parseOrThrow(schema, {}, "body");
  }
  return decodeJson(schema, text, MAX_BODY_BYTES, BODY);
}
