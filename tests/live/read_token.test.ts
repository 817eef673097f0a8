/**
 * Issue 24 item 7: `--read-token required` puts every read (nodes, MACs, serials, jobs, events
 * as SSE and JSON, the WebSocket, /metrics, the inventory, netboot and boot reads) behind the
 * read token or the admin token; nothing answered without one carries a MAC or a serial. The
 * read token never mutates. `open` (the default) keeps reads public, with a start-up warning
 * on a non-loopback address. The CLI sends its token on reads.
 */
import assert from "node:assert/strict";
import { openReadsWarning, parseHubSettings } from "../../hub/config.ts";
import { runCli } from "../../hub/cli/main.ts";
import { heartbeatBody, type ServedHub, serveTestHub } from "./live_support.ts";

const MAC = /[0-9a-f]{2}(:[0-9a-f]{2}){5}/i;

/** Every GET the OpenAPI document lists as a read, with its path parameters filled in. */
async function readPaths(h: ServedHub): Promise<string[]> {
  const doc = await (await fetch(`${h.base}/api/v1/openapi.json`)).json();
  const out: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    const get = ops.get as { security?: Record<string, unknown>[] } | undefined;
    if (!get?.security?.some((s) => "readToken" in s)) continue;
    const filled = path.replace("{id}", "7");
    out.push(filled === "/api/v1/events" ? `${filled}?format=json` : filled);
  }
  return out;
}

async function withRequired(fn: (h: ServedHub) => Promise<void>) {
  const h = await serveTestHub({ settings: { readToken: "required" } });
  try {
    // Something worth hiding: a learned MAC and an agent's serial.
    await h.call("POST", "/api/v1/nodes/7/power", { state: "on" });
    h.hub.store.updateNode(7, { mac: "b8:27:eb:00:00:07" });
    const hb = await h.call("POST", "/api/v1/agent/heartbeat", heartbeatBody(7), {
      auth: h.hub.agentKeys.keyFor(7),
    });
    assert.equal(hb.status, 200, await hb.text());
    await fn(h);
  } finally {
    await h.stop();
  }
}

Deno.test("--read-token required: every read needs a token, and answers without one hold no MAC or serial", () =>
  withRequired(async (h) => {
    const paths = await readPaths(h);
    for (
      const p of [
        "/api/v1/nodes",
        "/api/v1/nodes/7",
        "/api/v1/macs",
        "/api/v1/jobs",
        "/api/v1/events?format=json",
        "/api/v1/events",
        "/api/v1/ws",
        "/api/v1/inventory",
        "/api/v1/netboot/status",
        "/api/v1/nodes/7/boot",
        "/api/v1/module",
        "/metrics",
      ]
    ) {
      assert.ok(paths.includes(p) || p === "/api/v1/events", `${p} is not documented as a read`);
    }
    const read = h.hub.readToken.value;
    for (const p of [...paths, "/api/v1/events"]) {
      const none = await fetch(h.base + p);
      const text = await none.text();
      assert.equal(none.status, 401, `${p} without a token: ${none.status} ${text}`);
      assert.match(text, /requires a token for reads/);
      assert.doesNotMatch(text, MAC, p);
      assert.doesNotMatch(text, /serial|0000000000000007/i, p);
      const bad = await fetch(h.base + p, { headers: { authorization: "Bearer nope" } });
      assert.equal(bad.status, 401, p);
      await bad.body?.cancel();
      for (const token of [read, h.hub.token.value]) {
        if (p === "/api/v1/events" || p === "/api/v1/ws") continue; // a stream, an upgrade
        const ok = await fetch(h.base + p, { headers: { authorization: `Bearer ${token}` } });
        // 200, or 404 for /jobs/7 (no such job): never 401, never a 5xx
        assert.ok(
          ok.status === 200 || (p.startsWith("/api/v1/jobs/") && ok.status === 404),
          `${p} with a token: ${ok.status} ${await ok.clone().text()}`,
        );
        await ok.body?.cancel();
      }
    }
    // With a token the MAC and the serial are there.
    const node = await (await fetch(`${h.base}/api/v1/nodes/7`, {
      headers: { authorization: `Bearer ${read}` },
    })).json();
    assert.equal(node.mac, "b8:27:eb:00:00:07");
    assert.equal(node.agent.identity.serial, "0000000000000007");
    // An EventSource (no headers) and Prometheus may use ?token=.
    const sse = await fetch(`${h.base}/api/v1/events?format=json&token=${read}`);
    assert.equal(sse.status, 200);
    await sse.body?.cancel();
    const metrics = await fetch(`${h.base}/metrics?token=${read}`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /cluster_node_power_on/);
    // Health and the API document stay public, and hold no MAC or serial.
    const health = await fetch(`${h.base}/api/v1/health`);
    assert.equal(health.status, 200);
    assert.doesNotMatch(await health.text(), MAC);
    assert.equal((await fetch(`${h.base}/api/v1/openapi.json`)).status, 200);
    // The read token reads; it never acts.
    const power = await h.call("POST", "/api/v1/nodes/7/power", { state: "off" }, { auth: read });
    assert.equal(power.status, 401);
    await power.body?.cancel();
  }));

Deno.test("--read-token required: the WebSocket opens with the read token, read-only", () =>
  withRequired(async (h) => {
    const url = `${h.base.replace("http", "ws")}/api/v1/ws`;
    const refused = new WebSocket(url);
    const outcome = await new Promise<string>((resolve) => {
      refused.onopen = () => resolve("open");
      refused.onerror = () => resolve("error");
    });
    assert.equal(outcome, "error", "a socket without a token is refused");
    const ws = new WebSocket(`${url}?token=${h.hub.readToken.value}`);
    const frames: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("the read token's socket was refused"));
    });
    ws.onmessage = (e) => frames.push(JSON.parse(e.data));
    ws.send(JSON.stringify({ id: 1, type: "nodes" }));
    ws.send(JSON.stringify({ id: 2, type: "power", nodes: "7", state: "off" }));
    const byId = (id: number) => frames.find((f) => f.id === id);
    for (let i = 0; i < 500 && !(byId(1) && byId(2)); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(JSON.stringify(byId(1)).includes("b8:27:eb:00:00:07"), "reads work");
    assert.match(JSON.stringify(byId(2)), /unauthorized/, "commands need the admin token");
    ws.close();
    await new Promise((r) => setTimeout(r, 50));
  }));

Deno.test("open (the default): reads need no token; a warning only on a non-loopback address", async () => {
  const h = await serveTestHub();
  try {
    assert.equal((await fetch(`${h.base}/api/v1/nodes`)).status, 200);
    const m = await fetch(`${h.base}/metrics`);
    assert.equal(m.status, 200);
    await m.body?.cancel();
  } finally {
    await h.stop();
  }
  const dflt = parseHubSettings([], () => undefined)!;
  assert.equal(dflt.readToken, "open");
  assert.equal(openReadsWarning(dflt), null, "loopback: no warning");
  for (const host of ["0.0.0.0", "10.42.0.250", "::"]) {
    assert.match(openReadsWarning({ host, readToken: "open" }) ?? "", /--read-token required/);
    assert.equal(openReadsWarning({ host, readToken: "required" }), null);
  }
  for (const host of ["127.0.0.1", "::1", "localhost", "127.0.1.1"]) {
    assert.equal(openReadsWarning({ host, readToken: "open" }), null, host);
  }
  assert.equal(
    parseHubSettings(["--read-token", "required"], () => undefined)!.readToken,
    "required",
  );
  assert.equal(
    parseHubSettings([], (n) => n === "CM_READ_TOKEN" ? "required" : undefined)!.readToken,
    "required",
  );
  assert.throws(
    () => parseHubSettings(["--read-token", "maybe"], () => undefined),
    /required or open/,
  );
});

Deno.test("cm sends its token on reads: status works with the read token, says why without", () =>
  withRequired(async (h) => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const env = (token?: string) => (n: string) =>
      n === "CM_HUB"
        ? h.base
        : n === "CM_TOKEN"
        ? token
        : n === "CM_DATA_DIR"
        ? "/nonexistent"
        : undefined;
    assert.equal(
      await runCli(["status", "7"], io, env(h.hub.readToken.value)),
      0,
      lines.join("\n"),
    );
    lines.length = 0;
    assert.equal(await runCli(["status", "7"], io, env(undefined)), 1);
    assert.match(lines.join("\n"), /requires a token for reads/);
  }));
