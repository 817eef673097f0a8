/**
 * The dashboard renders from the event stream: it reads /api/v1/nodes once when the stream
 * opens and never polls it. Chromium counts the page's requests for 30 s while the bays
 * change only by heartbeats and power (lifecycle, LED, health), then the stream is cut: the
 * page reads /nodes exactly once more when it reconnects. Needs /usr/bin/chromium (skipped
 * without it, failed when CI=true).
 */
import assert from "node:assert/strict";
import { launchChromium } from "../../scripts/lib/chromium.ts";
import { requireChromium, skipWithoutChromium } from "../support/chromium.ts";
import { startTestHub } from "../support/test_hub.ts";
import { sendHeartbeat, waitFor } from "./live_support.ts";

/** How long the page's requests are counted while the bays change. */
const WINDOW_MS = 30_000;

Deno.test({
  name:
    "dashboard: no periodic /nodes request in 30 s; heartbeat changes show; reconnect reads once",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    const t = await startTestHub();
    // Served with a handle on every event stream, so the test can cut them (a network drop).
    const cuts = new Set<() => void>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (req, info) => {
        const res = await t.hub.app.fetch(req, info);
        if (new URL(req.url).pathname !== "/api/v1/events" || !res.body) return res;
        const reader = res.body.getReader();
        let ended = false;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            cuts.add(() => {
              if (ended) return;
              ended = true;
              controller.close();
              reader.cancel().catch(() => {});
            });
          },
          async pull(controller) {
            const chunk = await reader.read().catch(() => ({ done: true as const }));
            if (ended) return;
            if (chunk.done) {
              ended = true;
              controller.close();
            } else controller.enqueue(chunk.value);
          },
          cancel() {
            ended = true;
            return reader.cancel();
          },
        });
        return new Response(body, { status: res.status, headers: res.headers });
      },
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    const browser = await launchChromium();
    const agents = new Map<number, Parameters<typeof sendHeartbeat>[2]>();
    const beat = setInterval(() => {
      for (const [node, opts] of agents) sendHeartbeat(t, node, opts).catch(() => {});
    }, 400);
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      const requests: { at: number; path: string }[] = [];
      page.on("request", (r) => requests.push({ at: Date.now(), path: new URL(r.url()).pathname }));
      const nodesReads = () => requests.filter((r) => r.path === "/api/v1/nodes").length;
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-loaded="true"]');
      await page.waitForSelector("#conn[data-state=live]");
      const start = Date.now();
      assert.equal(nodesReads(), 1, "one read of /nodes when the stream opened");

      // Power from outside the page, then a node's agent reports: lifecycle and LED follow.
      const on = await t.call("POST", "/api/v1/power", { state: "on", nodes: "3,8" });
      assert.equal((await on.json()).state, "succeeded");
      await page.waitForSelector('.bay[data-node="3"][data-power="on"]');
      await page.waitForSelector('.bay[data-node="3"][data-lifecycle="booting"]');
      agents.set(3, { led: "heartbeat" });
      agents.set(8, { led: "heartbeat" });
      await page.waitForSelector('.bay[data-node="3"][data-lifecycle="running"]');
      await page.waitForSelector('.bay[data-node="3"] .led[data-pattern="heartbeat"]');
      // The LED the agent reports, and health figures (the firmware's under-voltage flag).
      agents.set(3, { led: "identify", throttled: 0x50005 });
      await page.waitForSelector('.bay[data-node="3"] .led[data-pattern="identify"]');
      await page.waitForSelector('.bay[data-node="3"][data-undervolt="now"]');
      agents.set(3, { led: "identify", throttled: 0x50000 });
      await page.waitForSelector('.bay[data-node="3"][data-undervolt="past"]');
      // The heartbeat's age stays that of the agent's latest report (every 400 ms here).
      await new Promise((r) => setTimeout(r, 3000));
      const text = await page.locator('.bay[data-node="8"]').textContent() ?? "";
      const ageS = Number(/♥ ([0-9.]+) s ago/.exec(text)?.[1]);
      assert.ok(ageS < 1.5, `node 8's last heartbeat is fresh: "${text}"`);
      // An agent that goes silent is `lost`, with no request: the hub's deadline says so.
      agents.delete(8);
      await page.waitForSelector('.bay[data-node="8"][data-lifecycle="lost"]');

      // Count to the end of the window.
      await new Promise((r) => setTimeout(r, Math.max(0, start + WINDOW_MS - Date.now())));
      const during = requests.filter((r) => r.at >= start);
      assert.equal(
        during.filter((r) => r.path === "/api/v1/nodes").length,
        0,
        `no /nodes request in ${WINDOW_MS / 1000} s: ${JSON.stringify(during)}`,
      );
      assert.ok(during.length <= 2, `the page asked for little else: ${JSON.stringify(during)}`);

      // The stream drops; what changes meanwhile is read once when it is back.
      agents.clear();
      for (const cut of cuts) cut();
      cuts.clear();
      await page.waitForSelector("#conn[data-state=reconnecting]");
      await t.call("POST", "/api/v1/nodes/3/power", { state: "off" });
      await page.waitForSelector("#conn[data-state=live]");
      await page.waitForSelector('.bay[data-node="3"][data-power="off"]');
      await waitFor(() => nodesReads() === 2, "one more read of /nodes after the reconnect");
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(nodesReads(), 2, "exactly one");
      assert.deepEqual(pageErrors, [], "no script errors in the page");
    } finally {
      clearInterval(beat);
      await browser.close();
      await t.close();
      await server.shutdown();
      await Deno.remove(t.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
