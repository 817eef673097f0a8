/**
 * The dashboard as an operator's console, in real Chromium against a hub on loopback:
 * destructive power asks first and names the nodes (switching on never asks); a job running
 * when the page opens is shown, a finished job stays in the history, events fill a log; a node
 * switched off shows no identify and no running boot; search, filter, counts, multi-select with
 * bulk power of a whole BitBar, the boot stage on each bay, and boot markers in the console.
 */
import assert from "node:assert/strict";
import { launchChromium, type Page } from "../../scripts/lib/chromium.ts";
import { requireChromium, skipWithoutChromium } from "../support/chromium.ts";
import { sendHeartbeat, type ServedHub, serveTestHub, waitFor } from "./live_support.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

/** The bit of the browser DOM the in-page functions use (Deno type-checks them without DOM). */
interface DomNode {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
}
interface DomDocument {
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}

/** Opens the dashboard with the admin token entered; collects script errors. */
async function openPage(h: ServedHub, page: Page, errors: string[]) {
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(h.base + "/");
  await page.waitForSelector('body[data-loaded="true"]');
  await page.fill("#token", h.hub.token.value);
  await page.dispatchEvent("#token", "change");
}

/** Node ids whose bays pass the search and filter. */
function shownBays(page: Page): Promise<number[]> {
  return page.$$eval(
    '.bay[data-match="true"]',
    (els) => els.map((e) => Number((e as unknown as DomNode).dataset.node)),
  );
}

/**
 * A browser test: a hub served on loopback (with `settings`), Chromium, and a 1280×800 page
 * with the admin token entered; fails on any script error in the page.
 */
function browserTest(
  name: string,
  settings: Parameters<typeof serveTestHub>[0],
  body: (h: ServedHub, page: Page, before: (page: Page) => Promise<void>) => Promise<void>,
) {
  Deno.test({
    name,
    ignore: skipWithoutChromium,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      requireChromium();
      const h = await serveTestHub(settings);
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        const errors: string[] = [];
        await body(h, page, (p) => openPage(h, p, errors));
        assert.deepEqual(errors, [], "no script errors in the page");
      } finally {
        await browser.close();
        await h.stop();
      }
    },
  });
}

browserTest(
  "dashboard: power off and cycle name the nodes and ask; switching on never asks",
  {},
  async (h, page, open) => {
    await h.hub.jobs.wait(h.hub.powerControl.power([5], "on").id);
    await open(page);

    // One bay: Power off asks, naming node 5; Cancel leaves it on.
    await page.click('.bay[data-node="5"]');
    await page.waitForSelector("#details[open]");
    await page.click('#details button[data-action="off"]');
    await page.waitForSelector("#confirm[open]");
    assert.equal(await page.locator("#confirm-title").innerText(), "Power off node 5?");
    assert.match(await page.locator("#confirm-nodes").innerText(), /node05 \(node 5, BitBar 1\)/);
    await page.click("#confirm-cancel");
    await page.waitForSelector("#confirm:not([open])", { state: "attached" });
    assert.match(await page.locator("#d-msg").innerText(), /not done/);
    assert.equal(h.hub.status.node(5).power.actual, "on", "Cancel switched nothing");
    // Escape is a no as well.
    await page.click('#details button[data-action="cycle"]');
    await page.waitForSelector("#confirm[open]");
    assert.equal(await page.locator("#confirm-title").innerText(), "Power cycle node 5?");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#confirm:not([open])", { state: "attached" });
    assert.ok(await page.locator("#details[open]").isVisible(), "the node dialog stays");
    assert.equal(h.hub.status.node(5).power.actual, "on");
    // Confirmed, it switches off.
    await page.click('#details button[data-action="off"]');
    await page.click("#confirm-ok");
    await page.waitForSelector('.bay[data-node="5"][data-power="off"]');
    assert.equal(h.hub.status.node(5).power.desired, "off");
    // Switching on never asks.
    let asked = 0;
    await page.exposeFunction("noteConfirm", () => asked++);
    await page.evaluate(() => {
      const d = globalThis as unknown as {
        document: {
          querySelector(s: string): { addEventListener(t: string, f: () => void): void };
        };
        noteConfirm(): void;
      };
      const dlg = d.document.querySelector("#confirm");
      // showModal fires no event: watch the open attribute instead.
      new (globalThis as unknown as {
        MutationObserver: new (f: () => void) => { observe(n: unknown, o: unknown): void };
      }).MutationObserver(() => d.noteConfirm()).observe(dlg, { attributes: true });
    });
    await page.click('#details button[data-action="on"]');
    await page.waitForSelector('.bay[data-node="5"][data-power="on"]');
    await page.keyboard.press("Escape");

    // A whole BitBar: its label selects its six bays; bulk off names them all and asks.
    await h.hub.jobs.wait(h.hub.powerControl.power([55, 56, 57], "on").id);
    await page.click('.buses .bus-head[data-bus="10"]');
    await page.waitForSelector('.bay[data-node="60"][data-selected="true"]');
    assert.equal(await page.locator("#sel-count").innerText(), "6 selected (BitBar 10)");
    // Bulk on of the selection: no question.
    await page.click('#bulk button[data-bulk="on"]');
    await waitFor(
      () => [55, 56, 57, 58, 59, 60].every((n) => h.hub.status.node(n).power.actual === "on"),
      "BitBar 10 on",
    );
    assert.equal(asked, 0, "switching on never opened the confirmation");
    // The page names the bays it knows are on: wait until it has seen all six.
    for (const n of [58, 59, 60]) {
      await page.waitForSelector(`.bay[data-node="${n}"][data-power="on"]`);
    }
    await page.click('#bulk button[data-bulk="off"]');
    await page.waitForSelector("#confirm[open]");
    assert.equal(
      await page.locator("#confirm-title").innerText(),
      "Power off 6 nodes (BitBar 10)?",
    );
    const named = await page.locator("#confirm-nodes li").allInnerTexts();
    assert.deepEqual(named.map((t) => t.split(" ")[0]), [
      "node55",
      "node56",
      "node57",
      "node58",
      "node59",
      "node60",
    ]);
    assert.equal(await page.locator("#confirm-ok").innerText(), "Power off 6 nodes");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("dashboard-confirm.png", ARTIFACTS).pathname });
    await page.click("#confirm-ok");
    await waitFor(
      () => [55, 56, 57, 58, 59, 60].every((n) => h.hub.status.node(n).power.actual === "off"),
      "BitBar 10 off",
    );
    await page.waitForFunction(() =>
      (globalThis as unknown as { document: DomDocument }).document.querySelector("#bulk-msg")
        ?.textContent === "power off 55-60: job succeeded"
    );
    assert.equal(h.hub.status.node(54).power.actual, "off");
    assert.equal(h.hub.status.node(5).power.actual, "on", "nothing outside the selection");
  },
);

browserTest(
  "dashboard: a job running at page load shows, finished jobs stay in a history, an event log; off nodes show no identify or running boot",
  {},
  async (h, page, open) => {
    // Before the page opens: node 9 runs and identifies, then is switched off; a run waits.
    await h.hub.jobs.wait(h.hub.powerControl.power([9], "on").id);
    h.hub.nodeSettings.setLed(9, "identify");
    await sendHeartbeat(h, 9, { led: "identify" });
    await sendHeartbeat(h, 9, { led: "identify", seq: 2 });
    await waitFor(() => h.hub.status.node(9).lifecycle === "running", "node 9 runs");
    await h.hub.jobs.wait(h.hub.powerControl.power([9], "off").id);
    const test = h.hub.runs.activetest([1, 2], 60_000);

    await open(page);
    // The running job is in the header at once, read from /api/v1/jobs.
    const row = page.locator(`#jobs .job[data-job="${test.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-state"), "running");
    assert.match(await row.locator(".job-label").innerText(), /^activetest 1-2 running/);
    // Earlier work is in the history and the event log.
    await page.waitForSelector('#job-history li[data-state="succeeded"]');
    assert.match(await page.locator("#job-history").innerText(), /power off 9/);
    await page.waitForSelector('#event-log li[data-type="power_changed"][data-node="9"]');

    // Node 9 is off: no identify badge, and its last boot is not "running".
    const bay9 = page.locator('.bay[data-node="9"]');
    assert.equal(await bay9.getAttribute("data-identify"), null);
    assert.equal(await bay9.locator(".bay-tag").isVisible(), false);
    await bay9.click();
    await page.waitForSelector("#d-boot .timeline");
    const latest = await page.locator("#d-boot .timeline h3").first().innerText();
    assert.doesNotMatch(latest, /— running$/, latest);
    assert.match(latest, /^latest: attempt 1 — ran, then switched off$/);
    // Identify asked for while it is off waits for it to run, and says so.
    await page.click('#details button[data-action="identify"]');
    await page.waitForFunction(() =>
      /shows it once it runs/.test(
        (globalThis as unknown as { document: DomDocument }).document.querySelector("#d-msg")
          ?.textContent ?? "",
      )
    );
    assert.match(
      await page.locator("#d-fields").innerText(),
      /identify waits until the node runs/,
    );
    await page.keyboard.press("Escape");
    assert.equal(await bay9.getAttribute("data-identify"), null);

    // The job ends (cancelled): its bar leaves the header, its result stays in the history.
    h.hub.jobs.cancel(test.id);
    await h.hub.jobs.wait(test.id).catch(() => {});
    const done = page.locator(`#job-history li[data-job="${test.id}"]`);
    await done.waitFor();
    assert.equal(await done.getAttribute("data-state"), "failed");
    await row.waitFor({ state: "detached", timeout: 15_000 });
    assert.match(await done.innerText(), /activetest 1-2/);
    assert.match(await done.locator(".result summary").innerText(), /cancel/i);
    // New events arrive in the log live, newest first.
    await h.hub.jobs.wait(h.hub.powerControl.power([12], "on").id);
    await page.waitForSelector('#event-log li[data-type="power_changed"][data-node="12"]');
    const order = await page.$$eval(
      '#event-log li[data-type="power_changed"]',
      (els) => els.map((e) => Number((e as unknown as DomNode).dataset.node)),
    );
    // Newest first: node 12's on above the active test's nodes, node 9's off and on last.
    assert.equal(order[0], 12, JSON.stringify(order));
    assert.deepEqual(order.slice(-2), [9, 9], JSON.stringify(order));
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("dashboard-history.png", ARTIFACTS).pathname });
  },
);

browserTest(
  "dashboard: a job that ends between the page's reads of /jobs and /events is not left running",
  {},
  async (h, page, open) => {
    const test = h.hub.runs.activetest([1, 2], 60_000);
    // The page reads /jobs (the run is running), then the run ends, then it reads /events.
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    await page.route(/\/api\/v1\/events\?format=json/, async (route) => {
      await gate;
      await route.continue();
    });
    const jobsRead = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/jobs");
    const opened = open(page);
    await jobsRead;
    h.hub.jobs.cancel(test.id);
    await h.hub.jobs.wait(test.id).catch(() => {});
    release();
    await opened;
    await page.locator(`#job-history li[data-job="${test.id}"][data-state="failed"]`).waitFor();
    await page.locator(`#jobs .job[data-job="${test.id}"]`).waitFor({
      state: "detached",
      timeout: 15_000,
    });
  },
);

browserTest(
  "dashboard: without the event history (its read fails) the page still runs and says so",
  {},
  async (h, page, open) => {
    await page.route(/\/api\/v1\/events\?format=json/, (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/json",
        body: '{"error":{"code":"busy","message":"try again"}}',
      }));
    await open(page);
    await page.waitForSelector("#event-log li.note");
    assert.match(await page.locator("#event-log li.note").innerText(), /no history: try again/);
    // The stream runs from now on: the rack and the log follow a change.
    await page.waitForSelector('#conn[data-state="live"]');
    await h.hub.jobs.wait(h.hub.powerControl.power([8], "on").id);
    await page.waitForSelector('.bay[data-node="8"][data-power="on"]');
    await page.waitForSelector('#event-log li[data-type="power_changed"][data-node="8"]');
  },
);

browserTest(
  "dashboard: idle, the page asks for nothing (the event stream stays open; no polls)",
  {},
  async (h, page, open) => {
    await h.hub.jobs.wait(h.hub.powerControl.power([1, 2], "on").id);
    await open(page);
    await page.waitForSelector('#conn[data-state="live"]');
    await page.waitForSelector("#event-log li.event");
    const asked: string[] = [];
    page.on("request", (r) => asked.push(new URL(r.url()).pathname));
    const seconds = 5;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    assert.deepEqual(asked, [], `no request in ${seconds} s (the event stream stays open)`);
  },
);

browserTest(
  "dashboard: search, filter and counts; the boot stage on each bay; boot markers in the console",
  { settings: { simBootMs: 4000, bootTimeouts: { heartbeat: 3000 } } },
  async (h, page, open) => {
    // Simulated boots take a while: node 11 stays at its first stage long enough to see it.
    await h.hub.jobs.wait(h.hub.powerControl.power([3, 4, 7], "on").id);
    await sendHeartbeat(h, 3);
    await sendHeartbeat(h, 4);
    await open(page);

    // Counts: every bay, and each state; they follow the hub.
    const count = (f: string) =>
      page.locator(`#counts .count[data-filter="${f}"]`).getAttribute("data-count");
    assert.equal(await count("all"), "60");
    await page.waitForFunction(() =>
      (globalThis as unknown as { document: DomDocument }).document.querySelector(
        '#counts .count[data-filter="on"]',
      )?.dataset.count === "3"
    );
    assert.equal(await count("off"), "57");
    // Search: a hostname, an IP, a node number, a BitBar.
    await page.fill("#search", "node07");
    assert.deepEqual(await shownBays(page), [7]);
    await page.fill("#search", "10.42.0.4");
    assert.deepEqual(await shownBays(page), [4, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
    await page.fill("#search", "23");
    assert.deepEqual(await shownBays(page), [23]);
    await page.fill("#search", "bitbar 2");
    assert.deepEqual(await shownBays(page), [7, 8, 9, 10, 11, 12]);
    assert.match(await page.locator("#counts .shown").innerText(), /^6 shown$/);
    // Filter (from the summary's button) with the search: BitBar 2's bays that are on.
    await page.click('#counts .count[data-filter="on"]');
    assert.deepEqual(await shownBays(page), [7]);
    assert.equal(await page.locator("#filter").inputValue(), "on");
    await page.fill("#search", "");
    assert.deepEqual(await shownBays(page), [3, 4, 7]);
    // "Select shown" takes what the search shows.
    await page.click("#select-shown");
    assert.equal(await page.locator("#sel-count").innerText(), "3 selected");
    await page.click("#select-clear");
    await page.selectOption("#filter", "all");
    assert.equal((await shownBays(page)).length, 60);

    // The boot stage on the bay while it boots.
    await h.hub.jobs.wait(h.hub.powerControl.power([11], "on").id);
    await page.waitForFunction(() =>
      /^booting · /.test(
        (globalThis as unknown as { document: DomDocument }).document.querySelector(
          '.bay[data-node="11"] .bay-state',
        )?.textContent ?? "",
      )
    );
    const stage11 = await page.locator('.bay[data-node="11"] .bay-state').innerText();
    assert.match(
      stage11,
      /^booting · (power on|dhcp \w+|tftp|nfs root|stalled before heartbeat)$/,
      stage11,
    );
    assert.equal(await count("booting"), "2", "nodes 7 (no agent yet) and 11");
    // No heartbeat within its deadline: the bay says where the boot stalled.
    await page.waitForFunction(() =>
      (globalThis as unknown as { document: DomDocument }).document.querySelector(
        '.bay[data-node="11"] .bay-state',
      )?.textContent === "booting · stalled before heartbeat"
    );

    // The console shows a marker where each boot begins: node 7's first, a cycle's live.
    await waitFor(
      () => h.hub.consoles.history(7, 500).lines.some((l) => /login:/.test(l.text)),
      "node 7 reaches its login prompt",
    );
    await page.click('.bay[data-node="7"]');
    await page.click('#details button[data-action="console"]');
    await page.waitForSelector('#console[open][data-live="true"]');
    const marks = () =>
      page.$$eval(
        "#c-term .xterm-rows > div",
        (rows) =>
          rows.map((r) => (r as unknown as DomNode).textContent ?? "").filter((t) =>
            /cluster-hub: node 7 powered on/.test(t)
          ).length,
      );
    await waitFor(async () => (await marks()) === 1, "the first boot's marker in the history");
    await h.hub.jobs.wait(h.hub.powerControl.power([7], "cycle").id);
    await waitFor(async () => (await marks()) === 2, "a marker when the node boots again");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("dashboard-console-marker.png", ARTIFACTS).pathname });
    await page.click('#console button[aria-label="close console"]');
  },
);
