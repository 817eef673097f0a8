/**
 * The dashboard as a new user meets it: on a phone (420 px wide) and while the hub restarts.
 * Real Chromium (Debian's, headless, via playwright-core) against hubs served on loopback.
 */
import assert from "node:assert/strict";
import { launchChromium, type Page } from "../../scripts/lib/chromium.ts";
import { requireChromium, skipWithoutChromium } from "../support/chromium.ts";
import { startTestHub, type TestHub } from "../support/test_hub.ts";
import { sendHeartbeat } from "./live_support.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

/** A hub served on loopback, on a given port (0: any), that can be stopped and started again. */
async function serve(dataDir?: string, port = 0) {
  const t: TestHub = await startTestHub({ dataDir });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen() {} },
    (req, info) => t.hub.app.fetch(req, info),
  );
  return {
    t,
    port: server.addr.port,
    base: `http://127.0.0.1:${server.addr.port}`,
    /** Stops the hub (its streams end) and the server: the port refuses connections. */
    async stop() {
      await t.close();
      ac.abort();
      await server.finished;
    },
  };
}

/** Box of every element that is rendered, as the page lays it out. */
interface Box {
  what: string;
  left: number;
  right: number;
  width: number;
  height: number;
}

/** The bit of the browser DOM the in-page functions use (Deno type-checks them without DOM). */
interface DomElement {
  tagName: string;
  id: string;
  className: string;
  dataset: Record<string, string | undefined>;
  getBoundingClientRect(): { left: number; right: number; width: number; height: number };
}
interface DomWindow {
  document: {
    documentElement: { scrollWidth: number; clientWidth: number };
    body: { querySelectorAll(s: string): Iterable<DomElement> };
  };
  innerWidth: number;
}

function boxes(page: Page): Promise<{ boxes: Box[]; scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => {
    const w = globalThis as unknown as DomWindow;
    const out: Box[] = [];
    for (const e of w.document.body.querySelectorAll("*")) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not rendered (display: none, closed dialog)
      const what = `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${
        e.className ? `.${String(e.className).split(" ")[0]}` : ""
      }${e.dataset.node ? `[node ${e.dataset.node}]` : ""}`;
      out.push({ what, left: r.left, right: r.right, width: r.width, height: r.height });
    }
    return {
      boxes: out,
      scrollWidth: w.document.documentElement.scrollWidth,
      innerWidth: w.innerWidth,
    };
  });
}

Deno.test({
  name: "dashboard at phone width (420×900): the rack reflows, nothing overflows, bays tappable",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    const h = await serve();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
      page.setDefaultTimeout(30_000);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(h.base + "/");
      await page.waitForSelector('body[data-loaded="true"]');

      const laid = await boxes(page);
      assert.equal(laid.innerWidth, 420);
      assert.ok(laid.scrollWidth <= 420, `the page does not scroll sideways: ${laid.scrollWidth}`);
      const outside = laid.boxes.filter((b) => b.left < -0.5 || b.right > 420.5);
      assert.deepEqual(outside.map((b) => `${b.what} ${b.left}–${b.right}`), [], "in the viewport");

      // The token field fits and takes a token.
      const token = laid.boxes.find((b) => b.what === "input#token")!;
      assert.ok(token.width >= 200, `the token field is wide enough to use: ${token.width}`);
      await page.fill("#token", h.t.hub.token.value);
      await page.dispatchEvent("#token", "change");

      // 60 bays, each big enough to tap, in bus order under their BitBar labels.
      const bays = laid.boxes.filter((b) => b.what.startsWith("button.bay["));
      assert.equal(bays.length, 60, "every bay is shown");
      for (const b of bays) {
        assert.ok(b.width >= 44 && b.height >= 44, `${b.what} is tappable: ${b.width}×${b.height}`);
      }
      const labels = await page.locator(".bus-label").allInnerTexts();
      assert.equal(labels.length, 10);
      assert.match(labels[1], /BitBar 2/i);
      const y = (n: number) => page.locator(`.bay[data-node="${n}"]`).boundingBox();
      assert.ok((await y(7))!.y > (await y(6))!.y, "bus 2 comes after bus 1");
      assert.ok((await y(60))!.y > (await y(55))!.y);

      // Tap a bay low on the page: the details open inside the screen, and power works.
      await page.click('.bay[data-node="58"]');
      await page.waitForSelector("#details[open]");
      const dialog = (await page.locator("#details").boundingBox())!;
      assert.ok(dialog.x >= 0 && dialog.x + dialog.width <= 420, `details fit: ${dialog.width}`);
      await page.click('#details button[data-action="on"]');
      await page.waitForSelector('.bay[data-node="58"][data-power="on"]');
      assert.equal(h.t.hub.status.node(58).power.actual, "on");
      await page.keyboard.press("Escape");

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.evaluate(() =>
        (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0)
      );
      await page.screenshot({ path: new URL("dashboard-phone.png", ARTIFACTS).pathname });
      assert.deepEqual(pageErrors, [], "no script errors in the page");
    } finally {
      await browser.close();
      await h.stop();
      await Deno.remove(h.t.dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "dashboard: hub unreachable greys the rack with the data's time; a restarted hub restores it",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    let h = await serve();
    const dataDir = h.t.dataDir;
    const browser = await launchChromium();
    try {
      // Node 3 ran (it heartbeated), then went off.
      await h.t.hub.jobs.wait(h.t.hub.powerControl.power([3], "on").id);
      await sendHeartbeat(h.t, 3);
      await h.t.hub.jobs.wait(h.t.hub.powerControl.power([3], "off").id);

      const page = await browser.newPage({ viewport: { width: 1500, height: 820 } });
      page.setDefaultTimeout(30_000);
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(h.base + "/");
      await page.waitForSelector('body[data-loaded="true"]');
      await page.waitForSelector('#conn[data-state="live"]');
      assert.equal(await page.locator("#stale").isVisible(), false, "no banner while reachable");
      const grey = () =>
        page.locator(".chassis").evaluate((e) =>
          (globalThis as unknown as {
            getComputedStyle(e: unknown): { filter: string; opacity: string };
          }).getComputedStyle(e)
        );
      assert.equal((await grey()).filter, "none");

      // The hub goes away.
      await h.stop();
      const stoppedAt = Date.now();
      await page.waitForSelector('body[data-stale="true"]');
      await page.waitForSelector("#stale:not([hidden])");
      const bannerMs = Date.now() - stoppedAt;
      const banner = await page.locator("#stale").innerText();
      const m = banner.match(/^hub unreachable — data from (\d\d):(\d\d):(\d\d)$/);
      assert.ok(m, `banner: ${JSON.stringify(banner)}`);
      // The data's time is that of the last refresh before the hub stopped: refreshes come every
      // second, a few more allow for a loaded machine (the test runs beside QEMU and others).
      const stoppedHms = await page.evaluate((ms) => {
        const d = new Date(ms);
        return d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
      }, stoppedAt);
      const dataHms = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
      const behind = (stoppedHms - dataHms + 86_400) % 86_400;
      assert.ok(behind <= 5, `data from ${m.slice(1).join(":")}, ${behind} s before the stop`);
      assert.match((await grey()).filter, /grayscale/, "the rack is greyed out");
      assert.ok(Number((await grey()).opacity) < 1);
      assert.equal(await page.locator("#conn").getAttribute("data-state"), "reconnecting");
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard-stale.png", ARTIFACTS).pathname });

      // The hub comes back on the same data dir and port.
      h = await serve(dataDir, h.port);
      const restartedAt = Date.now();
      await page.waitForSelector('body[data-stale="false"]');
      await page.waitForSelector('#conn[data-state="live"]');
      console.log(
        `stale banner ${bannerMs} ms after the hub stopped; live again ${
          Date.now() - restartedAt
        } ms after it was back`,
      );
      assert.equal(await page.locator("#stale").isVisible(), false, "the banner is gone");
      assert.equal((await grey()).filter, "none", "the rack is in colour again");
      // A node that ran before the restart still says when it was last heard.
      const bay3 = await page.locator('.bay[data-node="3"]').innerText();
      assert.match(bay3, /♥ last /, bay3);
      assert.doesNotMatch(bay3, /never/);
      // And the page is live: a change on the hub shows up.
      await h.t.hub.jobs.wait(h.t.hub.powerControl.power([9], "on").id);
      await page.waitForSelector('.bay[data-node="9"][data-power="on"]');
      // A run that waits shows its step and counts down in the header, as `cm` does.
      const test = h.t.hub.runs.activetest([1, 2], 60_000);
      const row = page.locator(`#jobs .job[data-job="${test.id}"] .job-label`);
      await page.waitForFunction(
        (id) =>
          /waiting for heartbeats, \d+ s left/.test(
            (globalThis as unknown as {
              document: { querySelector(s: string): { textContent: string } | null };
            }).document.querySelector(`#jobs .job[data-job="${id}"] .job-label`)?.textContent ??
              "",
          ),
        test.id,
      );
      const first = Number((await row.innerText()).match(/(\d+) s left/)![1]);
      assert.ok(first <= 60 && first >= 50, `${first}`);
      await page.waitForFunction(
        ({ id, first }) => {
          const text = (globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string } | null };
          }).document.querySelector(`#jobs .job[data-job="${id}"] .job-label`)?.textContent ?? "";
          const m = text.match(/(\d+) s left/);
          return m !== null && Number(m[1]) < first;
        },
        { id: test.id, first },
      );
      h.t.hub.jobs.cancel(test.id);
      await h.t.hub.jobs.wait(test.id);
      assert.deepEqual(pageErrors, [], "no script errors in the page");
    } finally {
      await browser.close();
      await h.stop().catch(() => {});
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
