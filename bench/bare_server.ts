/**
 * Benchmark helper (not a test): the floor for heartbeat ingest. A bare `Deno.serve` on
 * 127.0.0.1 that parses the JSON body of every request and answers a fixed small JSON reply
 * of the heartbeat reply's shape: no routing, auth, validation or state (but a count of the
 * heartbeats per node, `GET /counts`, for bench/agent_bench.ts). A heartbeat with `holdMs` that
 * shows the heartbeat pattern is answered after `holdMs`, as the hub holds an answer that tells
 * the agent nothing new (docs/agent.md, "Held replies"). Prints
 * `{"port":P}` once listening; exits when stdin closes or after `--max-seconds` (default 300).
 *
 *   deno run --allow-net bench/bare_server.ts [--port 0]
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "0" },
    "max-seconds": { type: "string", default: "300" },
  },
});

const reply = JSON.stringify({ node: 7, led: null, intervalMs: 1000 });
const counts: Record<string, number> = {};
const ac = new AbortController();
const server = Deno.serve(
  {
    hostname: "127.0.0.1",
    port: Number(values.port),
    signal: ac.signal,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  },
  async (req) => {
    if (req.method === "GET") return Response.json(counts);
    let holdMs = 0;
    try {
      const body = await req.json();
      const node = String(body?.identity?.node ?? "?");
      counts[node] = (counts[node] ?? 0) + 1;
      const hold = body?.holdMs;
      if (Number.isInteger(hold) && hold > 0 && hold <= 1000 && body?.led === "heartbeat") {
        holdMs = hold;
      }
    } catch {
      return new Response('{"error":"bad json"}', {
        status: 400,
        headers: { "content-type": "application/json" },
      });
    }
    if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
    return new Response(reply, { headers: { "content-type": "application/json" } });
  },
);

const deadline = setTimeout(() => ac.abort(), Number(values["max-seconds"]) * 1000);
// Stop when the driver closes our stdin (or goes away).
(async () => {
  for await (const _ of Deno.stdin.readable) { /* drain until EOF */ }
  ac.abort();
})();
await server.finished;
clearTimeout(deadline);
Deno.exit(0);
