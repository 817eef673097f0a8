/** The internal server's handler: only gated requests reach the app, with the client's address. */
import assert from "node:assert/strict";
import { gatedHandler } from "../../../hub/http/internal_server.ts";

const info = (port: number) => ({
  remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port },
  completed: Promise.resolve(),
});

Deno.test("internal server: a request that bypassed the gate is 403; the app sees the real client", async () => {
  const client: Deno.NetAddr = { transport: "tcp", hostname: "10.42.0.7", port: 41234 };
  const gate = { clientAddress: (port: number) => (port === 5000 ? client : undefined) };
  const seen: string[] = [];
  const app = {
    fetch: (_req: Request, i: Deno.ServeHandlerInfo) => {
      const r = i.remoteAddr as Deno.NetAddr;
      seen.push(`${r.hostname}:${r.port}`);
      return new Response("ok");
    },
  };
  let ready = false;
  const handler = gatedHandler(() => gate, () => (ready ? app : null));
  const req = () => new Request("http://hub/api/v1/health");

  const bypass = await handler(req(), info(6000));
  assert.equal(bypass.status, 403);
  assert.equal((await bypass.json()).error.code, "forbidden");

  const starting = await handler(req(), info(5000));
  assert.equal(starting.status, 503);
  assert.equal((await starting.json()).error.code, "not_ready");

  ready = true;
  const ok = await handler(req(), info(5000));
  assert.equal(await ok.text(), "ok");
  assert.deepEqual(seen, ["10.42.0.7:41234"]);
});
