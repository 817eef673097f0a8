/**
 * The dashboard in a real browser: Playwright driving Debian's Chromium (headless) against a
 * hub built in-process and served on loopback. Needs /usr/bin/chromium: run
 * scripts/install-chromium.sh. Without it the test is skipped with a message, or fails when
 * CI=true.
 */
import assert from "node:assert/strict";
import { launchChromium, type Page } from "../../scripts/lib/chromium.ts";
import { requireChromium, skipWithoutChromium } from "../support/chromium.ts";
import { sendHeartbeat, type ServedHub, serveTestHub, waitFor } from "./live_support.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

/** The bit of the browser DOM the in-page functions use (Deno type-checks them without DOM). */
interface DomElement {
  dataset: Record<string, string | undefined>;
  getBoundingClientRect(): { x: number; y: number; width: number; height: number };
}
interface DomDocument {
  querySelector(selector: string): DomElement | null;
}

/** Samples the `data-lit` level of the LEDs of `nodes` every few ms, in the page. */
function sampleLeds(page: Page, nodes: number[], ms: number) {
  return page.evaluate(async ({ nodes, ms }) => {
    const doc = (globalThis as unknown as { document: DomDocument }).document;
    const leds = nodes.map((n) => doc.querySelector(`.bay[data-node="${n}"] .led`)!);
    const series: { t: number; lit: boolean[] }[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      series.push({
        t: performance.now() - t0,
        lit: leds.map((l) => l.dataset.lit === "1"),
      });
      await new Promise((r) => setTimeout(r, 5));
    }
    return series;
  }, { nodes, ms });
}

/** Transitions, lit fraction and lengths of lit runs (ms) of one LED's samples. */
function analyse(series: { t: number; lit: boolean[] }[], i: number) {
  let transitions = 0;
  let litTime = 0;
  const runs: number[] = [];
  let runStart: number | null = series[0].lit[i] ? null : null;
  for (let k = 1; k < series.length; k++) {
    const dt = series[k].t - series[k - 1].t;
    if (series[k - 1].lit[i]) litTime += dt;
    if (series[k].lit[i] !== series[k - 1].lit[i]) {
      transitions++;
      if (series[k].lit[i]) runStart = series[k].t;
      else if (runStart !== null) {
        runs.push(series[k].t - runStart);
        runStart = null;
      }
    }
  }
  const total = series.at(-1)!.t - series[0].t;
  runs.sort((a, b) => a - b);
  return {
    transitions,
    litFraction: litTime / total,
    medianRun: runs[Math.floor(runs.length / 2)],
  };
}

Deno.test({
  name:
    "dashboard: 60 bays in rack geometry, power from the page, identify blinks fast, screenshot",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    const started = performance.now();
    const h: ServedHub = await serveTestHub();
    const browser = await launchChromium();
    // Agents of the nodes under test keep heartbeating, as real ones do.
    const agents = new Map<number, Parameters<typeof sendHeartbeat>[2]>();
    const beat = setInterval(() => {
      for (const [node, opts] of agents) sendHeartbeat(h, node, opts).catch(() => {});
    }, 400);
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 820 } });
      page.setDefaultTimeout(30_000);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(h.base + "/");
      await page.waitForSelector('body[data-loaded="true"]');

      // Header: the asset tag from /api/v1/module.
      const module = await (await fetch(`${h.base}/api/v1/module`)).json();
      assert.match(await page.locator("#asset").innerText(), new RegExp(module.assetTag.tag));

      // 60 bays: bus = column (bus 1 at the left), slot = row (slot 1 at the top).
      const boxes = await page.$$eval(".bay", (els) =>
        els.map((e) => {
          const el = e as unknown as DomElement;
          const r = el.getBoundingClientRect();
          const d = el.dataset;
          return { node: Number(d.node), x: r.x, y: r.y, w: r.width, h: r.height };
        }));
      assert.equal(boxes.length, 60);
      const at = (n: number) => boxes.find((b) => b.node === n)!;
      const minX = Math.min(...boxes.map((b) => b.x));
      const minY = Math.min(...boxes.map((b) => b.y));
      assert.equal(at(1).x, minX, "node 1 is in the left column");
      assert.equal(at(1).y, minY, "node 1 is in the top row");
      assert.equal(at(2).x, at(1).x, "node 2 is below node 1");
      assert.ok(at(2).y > at(1).y + at(1).h / 2, "node 2 is below node 1");
      assert.ok(at(7).x > at(1).x + at(1).w / 2 && at(7).y === at(1).y, "node 7 starts bus 2");
      for (const b of boxes) {
        const bus = Math.ceil(b.node / 6);
        const slot = ((b.node - 1) % 6) + 1;
        assert.equal(b.x, at(bus * 6 - 5).x, `node ${b.node} in column ${bus}`);
        assert.equal(b.y, at(slot).y, `node ${b.node} in row ${slot}`);
        if (bus > 1) assert.ok(b.x > at(b.node - 6).x, `bus ${bus} right of bus ${bus - 1}`);
      }

      // Power a bay from the page: token, click, button.
      await page.fill("#token", h.hub.token.value);
      await page.dispatchEvent("#token", "change");
      await page.click('.bay[data-node="5"]');
      await page.waitForSelector("#details[open]");
      await page.click('#details button[data-action="on"]');
      await page.waitForSelector('.bay[data-node="5"][data-power="on"]');
      const rest5 = await (await fetch(`${h.base}/api/v1/nodes/5`)).json();
      assert.equal(rest5.power.actual, "on");
      assert.equal(rest5.power.desired, "on");

      // Job progress in the header (live from the event stream).
      const bulk = await h.call("POST", "/api/v1/power?wait=false", { state: "on", nodes: "4,19" });
      const job = await bulk.json();
      await page.waitForSelector(`#jobs .job[data-job="${job.id}"][data-state="succeeded"]`);

      // Identify: requested from the page, then the agent reports it with its next heartbeat.
      await page.click('#details button[data-action="identify"]');
      await waitFor(
        () => h.hub.status.node(5).ledRequested === "identify",
        "identify requested",
      );
      agents.set(5, { led: "identify" });
      agents.set(4, { led: "heartbeat" });
      agents.set(19, { led: "heartbeat", model: "pi0w" });
      await page.keyboard.press("Escape");
      await page.waitForSelector('.bay[data-node="5"] .led[data-pattern="identify"]');
      await page.waitForSelector('.bay[data-node="4"] .led[data-pattern="heartbeat"]');
      await page.waitForSelector('.bay[data-node="19"] .led[data-pattern="heartbeat-inverted"]');
      await page.waitForSelector('.bay[data-node="5"][data-lifecycle="running"]');
      // Identifying is said in text, not only by the blink.
      await page.waitForSelector('.bay[data-node="5"][data-identify="on"]');
      assert.equal(
        (await page.locator('.bay[data-node="5"] .bay-tag').textContent())?.trim(),
        "identify",
      );
      assert.ok(await page.locator('.bay[data-node="5"] .bay-tag').isVisible());
      assert.equal(await page.locator('.bay[data-node="4"] .bay-tag').isVisible(), false);

      const series = await sampleLeds(page, [5, 4, 19], 2500);
      const identify = analyse(series, 0);
      const heartbeat = analyse(series, 1);
      const inverted = analyse(series, 2);
      const report = JSON.stringify({ identify, heartbeat, inverted, samples: series.length });
      // Identify: 100 ms on / 100 ms off → ~25 transitions in 2.5 s.
      assert.ok(identify.transitions >= 12, `identify blinks fast: ${report}`);
      assert.ok(
        identify.medianRun >= 50 && identify.medianRun <= 170,
        `identify on ~100 ms: ${report}`,
      );
      assert.ok(identify.litFraction > 0.3 && identify.litFraction < 0.7, report);
      // Heartbeat: 900 on / 100 off; the Zero W's inverse: 100 on / 900 off.
      assert.ok(heartbeat.transitions <= 8, `heartbeat blinks slowly: ${report}`);
      assert.ok(heartbeat.litFraction > 0.75, `heartbeat mostly on: ${report}`);
      assert.ok(inverted.litFraction < 0.25, `pi0w heartbeat mostly off: ${report}`);
      assert.ok(inverted.transitions >= 2, `pi0w heartbeat blinks: ${report}`);

      // A node that ran and is now off is not "♥ never": it says when it was last heard.
      await page.waitForSelector('.bay[data-node="19"][data-lifecycle="running"]');
      agents.delete(19);
      await h.call("POST", "/api/v1/nodes/19/power", { state: "off" });
      await page.waitForSelector('.bay[data-node="19"][data-power="off"]');
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: DomDocument }).document;
        const lines = doc.querySelector('.bay[data-node="19"]') as unknown as {
          textContent: string;
        };
        return /♥ last /.test(lines.textContent);
      });
      const bay19 = await page.locator('.bay[data-node="19"]').textContent();
      assert.doesNotMatch(bay19 ?? "", /never/, "a node that ran before is not '♥ never'");
      assert.match(await page.locator('.bay[data-node="60"]').textContent() ?? "", /♥ never/);

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard.png", ARTIFACTS).pathname });
      await page.click('.bay[data-node="5"]');
      await page.waitForSelector("#details[open]");
      await page.screenshot({ path: new URL("dashboard-details.png", ARTIFACTS).pathname });
      // The dialog shows the node's boot timeline: powered on from the page, then heartbeats.
      await page.waitForSelector('#d-boot .timeline li[data-stage="power_on"]');
      await page.waitForSelector('#d-boot .timeline li[data-stage="heartbeat"]');
      // A quarantined node says where its boot stopped, and can be cleared from the dialog.
      await page.keyboard.press("Escape");
      h.hub.quarantine.set(8, {
        stage: "dhcp_ack",
        reason: "boot stalled before dhcp ack on 3 attempts",
        at: Date.now(),
        attempts: 3,
      });
      await page.waitForSelector('.bay[data-node="8"][data-lifecycle="fault"]');
      await page.click('.bay[data-node="8"]');
      await page.waitForSelector("#details[open]");
      assert.match(await page.locator("#d-boot .quarantine").innerText(), /at dhcp_ack/);
      await page.click('#details button[data-action="clear"]');
      await waitFor(() => h.hub.status.node(8).quarantine === null, "quarantine cleared");
      await page.waitForSelector("#d-clear[hidden]", { state: "attached" });
      assert.deepEqual(pageErrors, [], "no script errors in the page");
      console.log(`LED samples: ${report}`);
      console.log(
        `dashboard browser test took ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      clearInterval(beat);
      await browser.close();
      await h.stop();
    }
  },
});

/** The text rows xterm.js shows now (its DOM renderer), trailing blanks trimmed. */
function terminalRows(page: Page): Promise<string[]> {
  return page.$$eval(
    "#c-term .xterm-rows > div",
    (rows) =>
      rows.map((r) => ((r as unknown as { textContent: string }).textContent ?? "").trimEnd()),
  );
}

Deno.test({
  name:
    "dashboard: a node's console in xterm.js: boot log and prompt, typing echoes, no CSP errors",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    const h: ServedHub = await serveTestHub();
    const browser = await launchChromium();
    try {
      // Node 7 boots on the simulated module: its console prints a boot log and a prompt.
      assert.equal((await h.call("POST", "/api/v1/nodes/7/power", { state: "on" })).status, 200);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(30_000);
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      await page.goto(h.base + "/");
      await page.waitForSelector('body[data-loaded="true"]');
      await page.fill("#token", h.hub.token.value);
      await page.dispatchEvent("#token", "change");
      await page.click('.bay[data-node="7"]');
      await page.click('#details button[data-action="console"]');
      await page.waitForSelector('#console[open][data-live="true"][data-state="writer"]');
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: DomDocument }).document;
        const rows = doc.querySelector("#c-term .xterm-rows") as unknown as { textContent: string };
        return /node07 login:/.test(rows?.textContent ?? "");
      });
      const boot = await terminalRows(page);
      assert.ok(boot.some((r) => /Machine model: Raspberry Pi/.test(r)), boot.join("\n"));

      // Log in and run a command: what is typed is echoed, the answer comes back.
      await page.click("#c-term");
      for (const line of ["pi", "secret", "echo hello-from-the-dashboard"]) {
        await page.keyboard.type(line);
        await page.keyboard.press("Enter");
      }
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: DomDocument }).document;
        const rows = doc.querySelector("#c-term .xterm-rows") as unknown as {
          children: { textContent: string }[];
        };
        return [...(rows?.children ?? [])].some((r) =>
          r.textContent.trimEnd() === "hello-from-the-dashboard"
        );
      });
      const rows = await terminalRows(page);
      assert.ok(rows.includes("pi@node07:~$ echo hello-from-the-dashboard"), rows.join("\n"));
      assert.ok(!rows.some((r) => r.includes("secret")), "the password is not echoed");

      // The same bytes are in the node's history, and the attach is in the audit trail.
      const history = await (await h.call("GET", "/api/v1/nodes/7/console?lines=5")).json();
      assert.ok(
        history.lines.some((l: { text: string }) => l.text === "hello-from-the-dashboard"),
        JSON.stringify(history.lines),
      );
      const attach = h.hub.events.latest(50).find((e) =>
        e.type === "console_attach" && e.node === 7
      );
      assert.equal(attach?.data.client, "dashboard");
      assert.match(String(attach?.data.token), /^admin:[0-9a-f]{8}$/);

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard-console.png", ARTIFACTS).pathname });
      await page.click('#console button[aria-label="close console"]');
      await waitFor(() => h.hub.consoles.console(7).viewerCount === 0, "the page detached");
      assert.deepEqual(problems, [], "no script or CSP errors in the page");
    } finally {
      await browser.close();
      await h.stop();
    }
  },
});

Deno.test({
  name:
    "dashboard: a hub that needs a token for reads shows 'token needed', then works with the read token",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    const h: ServedHub = await serveTestHub({ settings: { readToken: "required" } });
    const browser = await launchChromium();
    try {
      await h.call("POST", "/api/v1/nodes/3/power", { state: "on" });
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      page.setDefaultTimeout(30_000);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(h.base + "/");
      await page.waitForSelector('#conn[data-state="token needed"]');
      assert.match(String(await page.getAttribute("#conn", "title")), /read token/);
      assert.equal(await page.locator(".bay").count(), 0, "nothing shown without a token");
      // The read token: the page reloads with it, shows the rack, and streams events (?token=).
      await page.fill("#token", h.hub.readToken.value);
      await page.dispatchEvent("#token", "change");
      await page.waitForSelector('body[data-loaded="true"]');
      assert.equal(await page.locator(".bay").count(), 60);
      await page.waitForSelector('#conn[data-state="live"]');
      await sendHeartbeat(h, 3);
      await page.waitForSelector('.bay[data-node="3"][data-lifecycle="running"]');
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      await h.stop();
    }
  },
});
