/**
 * How the hub reads JSON bodies: a body of declared length is taken whole (Deno's json()),
 * never through the request's body stream, whose mere creation cost the heartbeat route a
 * fifth of its throughput (docs/benchmarks.md); the answers to bad bodies stay the same.
 */
import assert from "node:assert/strict";
import type { Context } from "hono";
import { ClusterError } from "../../shared/errors.ts";
import { Heartbeat, PowerCommand } from "../../shared/schemas.ts";
import { readBody } from "../../hub/http/checks/body.ts";
import { sampleHeartbeat } from "../support/samples.ts";

/** A request that counts reads of its `body` stream. */
class WatchedRequest extends Request {
  bodyReads = 0;
  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    this.bodyReads++;
    return super.body;
  }
}

function context(req: Request): Context {
  return {
    req: { raw: req, header: (n: string) => req.headers.get(n) ?? undefined },
  } as unknown as Context;
}

function post(body: string, headers: Record<string, string> = {}): WatchedRequest {
  return new WatchedRequest("http://hub/api/v1/agent/heartbeat", {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
}

async function failure(p: Promise<unknown>): Promise<ClusterError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ClusterError, String(e));
    return e;
  }
  assert.fail("accepted");
}

Deno.test("a heartbeat of declared length is read without its body stream", async () => {
  const hb = sampleHeartbeat(7);
  const req = post(JSON.stringify(hb));
  assert.ok(req.headers.get("content-length") === null); // Request sets none: declare it
  const declared = post(JSON.stringify(hb), {
    "content-length": String(new TextEncoder().encode(JSON.stringify(hb)).length),
  });
  assert.deepEqual(await readBody(context(declared), Heartbeat), hb);
  assert.equal(declared.bodyReads, 0, "the body stream was built");
});

Deno.test("declared-length bodies: bad JSON, bad type, bad fields give the same 4xx codes", async () => {
  const len = (s: string) => ({ "content-length": String(new TextEncoder().encode(s).length) });
  const bad = '{"state": "on"';
  const e1 = await failure(readBody(context(post(bad, len(bad))), PowerCommand));
  assert.equal(e1.code, "invalid_body");
  assert.match(e1.message, /not valid JSON/);
  const form = "state=on";
  const e2 = await failure(
    readBody(
      context(post(form, { ...len(form), "content-type": "application/x-www-form-urlencoded" })),
      PowerCommand,
    ),
  );
  assert.equal(e2.code, "unsupported_media_type");
  const wrong = '{"state":"ON"}';
  const e3 = await failure(readBody(context(post(wrong, len(wrong))), PowerCommand));
  assert.equal(e3.code, "invalid_body");
  assert.match(e3.message, /state/);
});
