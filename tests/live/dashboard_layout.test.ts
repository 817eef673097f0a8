/**
 * The dashboard at the sizes operators use: a phone (390×844), a laptop (1280×800) and a desktop
 * (1920×1080). Real Chromium measures every bay: none clipped by the window or the chassis, no
 * part of a bay (power pill, IDENTIFY badge, LED) outside it or wrapped, the LED a round dot, the
 * rack using a wide screen, a job running when the page opens shown in the header, and on a phone
 * the power buttons above the long boot timeline.
 */
import assert from "node:assert/strict";
import { launchChromium, type Page } from "../../scripts/lib/chromium.ts";
import { requireChromium, skipWithoutChromium } from "../support/chromium.ts";
import { sendHeartbeat, type ServedHub, serveTestHub } from "./live_support.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url);

/** A rectangle as the page lays it out (viewport coordinates). */
interface Rect {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}

/** What the test reads about one bay. */
interface BayLayout {
  node: number;
  bay: Rect;
  /** Each visible part of the bay: class, its box, and how many line boxes its text takes. */
  parts: { what: string; rect: Rect; lines: number }[];
  led: Rect;
  /** The bay's own content overflows it (scrollWidth beyond its box). */
  overflowX: number;
}

/** The bit of the browser DOM the in-page function uses (Deno type-checks it without DOM). */
interface El {
  className: string;
  hidden: boolean;
  dataset: Record<string, string | undefined>;
  scrollWidth: number;
  clientWidth: number;
  children: ArrayLike<El>;
  getBoundingClientRect(): Rect;
  getClientRects(): ArrayLike<Rect>;
  querySelector(s: string): El | null;
}
interface Win {
  innerWidth: number;
  innerHeight: number;
  document: {
    documentElement: { scrollWidth: number };
    querySelector(s: string): El | null;
    querySelectorAll(s: string): ArrayLike<El>;
    createRange(): { selectNodeContents(e: El): void; getClientRects(): ArrayLike<Rect> };
  };
}

function measure(page: Page) {
  return page.evaluate(() => {
    const w = globalThis as unknown as Win;
    const doc = w.document;
    const rect = (e: El): Rect => {
      const r = e.getBoundingClientRect();
      return {
        left: r.left,
        right: r.right,
        top: r.top,
        bottom: r.bottom,
        width: r.width,
        height: r.height,
      };
    };
    /** Line boxes of an element's text (1 when it does not wrap). */
    const lines = (e: El) => {
      const range = doc.createRange();
      range.selectNodeContents(e);
      const tops = new Set<number>();
      for (const r of Array.from(range.getClientRects())) {
        if (r.width > 0) tops.add(Math.round(r.top));
      }
      return tops.size;
    };
    const bays: BayLayout[] = [];
    for (const b of Array.from(doc.querySelectorAll(".bay"))) {
      const parts: BayLayout["parts"] = [];
      const walk = (e: El) => {
        for (const c of Array.from(e.children)) {
          const r = rect(c);
          if (r.width === 0 && r.height === 0) continue;
          parts.push({ what: c.className, rect: r, lines: lines(c) });
          walk(c);
        }
      };
      walk(b);
      bays.push({
        node: Number(b.dataset.node),
        bay: rect(b),
        parts,
        led: rect(b.querySelector(".led")!),
        overflowX: b.scrollWidth - b.clientWidth,
      });
    }
    const chassis = doc.querySelector(".chassis")!;
    return {
      innerWidth: w.innerWidth,
      innerHeight: w.innerHeight,
      scrollWidth: doc.documentElement.scrollWidth,
      chassis: rect(chassis),
      chassisScroll: chassis.scrollWidth - chassis.clientWidth,
      rack: rect(doc.querySelector("#rack")!),
      bays,
    };
  });
}

/** Everything wrong with the layout, one line each (empty: all bays fit). */
function problems(m: Awaited<ReturnType<typeof measure>>): string[] {
  const out: string[] = [];
  const inside = (r: Rect, o: Rect, slack = 0.5) =>
    r.left >= o.left - slack && r.right <= o.right + slack && r.top >= o.top - slack &&
    r.bottom <= o.bottom + slack;
  const viewport = { left: 0, top: -1e9, right: m.innerWidth, bottom: 1e9 } as Rect;
  if (m.scrollWidth > m.innerWidth) out.push(`the page scrolls sideways: ${m.scrollWidth}`);
  if (m.chassisScroll > 0) {
    out.push(
      `the rack is ${m.rack.width.toFixed(0)} px inside a ${
        m.chassis.width.toFixed(0)
      } px chassis (scrolls ${m.chassisScroll} px)`,
    );
  }
  for (const b of m.bays) {
    if (!inside(b.bay, viewport)) {
      out.push(`bay ${b.node} clipped by the window: ${b.bay.left}–${b.bay.right}`);
    }
    if (!inside(b.bay, m.chassis)) out.push(`bay ${b.node} outside the chassis`);
    if (b.overflowX > 0) out.push(`bay ${b.node} overflows by ${b.overflowX} px`);
    for (const p of b.parts) {
      if (!inside(p.rect, b.bay)) {
        out.push(
          `bay ${b.node}: .${p.what} outside the bay (${p.rect.left.toFixed(1)}–${
            p.rect.right.toFixed(1)
          } in ${b.bay.left.toFixed(1)}–${b.bay.right.toFixed(1)})`,
        );
      }
      if (/bay-(power|tag)/.test(p.what) && p.lines > 1) {
        out.push(`bay ${b.node}: .${p.what} wraps onto ${p.lines} lines`);
      }
    }
    if (b.led.width < 8 || b.led.height < 8 || Math.abs(b.led.width - b.led.height) > 1) {
      out.push(`bay ${b.node}: the LED is ${b.led.width}×${b.led.height}, not a dot`);
    }
  }
  return out;
}

const SIZES = [
  { name: "phone", width: 390, height: 844 },
  { name: "laptop", width: 1280, height: 800 },
  { name: "desktop", width: 1920, height: 1080 },
];

Deno.test({
  name:
    "dashboard at 390×844, 1280×800 and 1920×1080: no bay clipped or overflowing, badge and pill fit, rack uses the width, running job shown",
  ignore: skipWithoutChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireChromium();
    const started = performance.now();
    const h: ServedHub = await serveTestHub();
    // BitBar 10 and a few bays of BitBar 1 run and identify: the longest content a bay shows.
    const identifying = [1, 2, 55, 56, 57, 58, 59, 60];
    await h.hub.jobs.wait(h.hub.powerControl.power(identifying, "on").id);
    for (const n of identifying) h.hub.nodeSettings.setLed(n, "identify");
    const beat = () =>
      Promise.all(identifying.map((n) => sendHeartbeat(h, n, { led: "identify" })));
    await beat();
    const beating = setInterval(() => beat().catch(() => {}), 500);
    // A run that waits for heartbeats that never come: running whenever a page opens.
    const test = h.hub.runs.activetest([30, 31], 600_000);
    const browser = await launchChromium();
    try {
      const failures: string[] = [];
      for (const size of SIZES) {
        const page = await browser.newPage({
          viewport: { width: size.width, height: size.height },
        });
        page.setDefaultTimeout(30_000);
        const pageErrors: string[] = [];
        page.on("pageerror", (e) => pageErrors.push(e.message));
        await page.goto(h.base + "/");
        await page.waitForSelector('body[data-loaded="true"]');
        await page.waitForSelector('.bay[data-node="60"][data-identify="on"]');
        // The job that was running when the page opened is in the header, inside the window.
        const row = page.locator(`#jobs .job[data-job="${test.id}"]`);
        await row.waitFor().catch(() => {});
        const job = await row.boundingBox();
        if (!job) failures.push(`${size.width}: the running job is not shown`);
        else if (job.x < 0 || job.x + job.width > size.width) {
          failures.push(`${size.width}: the running job's bar is outside the window`);
        }
        await Deno.mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({
          path: new URL(`dashboard-${size.width}.png`, ARTIFACTS).pathname,
        });
        const m = await measure(page);
        assert.equal(m.bays.length, 60);
        for (const p of problems(m)) failures.push(`${size.width}×${size.height}: ${p}`);
        if (size.width === 1920) {
          // The rack takes the width (no band of unused screen at the right) and is centered.
          const left = m.chassis.left;
          const right = m.innerWidth - m.chassis.right;
          if (m.chassis.width < 0.8 * m.innerWidth) {
            failures.push(`1920: the rack takes ${m.chassis.width} of ${m.innerWidth} px`);
          }
          if (Math.abs(left - right) > 4) {
            failures.push(`1920: the rack is off centre (${left} px left, ${right} px right)`);
          }
        }
        if (size.width === 390) {
          // The power buttons are on screen when a bay's details open, above the boot timeline.
          await page.click('.bay[data-node="60"]');
          await page.waitForSelector("#details[open]");
          await page.waitForSelector('#d-boot .timeline li[data-stage="power_on"]');
          const off = (await page.locator('#details button[data-action="off"]').boundingBox())!;
          const boot = (await page.locator("#d-boot").boundingBox())!;
          if (off.y + off.height > size.height) {
            failures.push(`390: "Power off" is below the screen (at ${off.y} px)`);
          }
          if (off.y > boot.y) failures.push(`390: the power buttons sit below the boot timeline`);
          await page.screenshot({
            path: new URL(`dashboard-${size.width}-details.png`, ARTIFACTS).pathname,
          });
        }
        assert.deepEqual(pageErrors, [], "no script errors in the page");
        await page.close();
      }
      assert.deepEqual(failures, [], failures.join("\n"));
      console.log(
        `dashboard layout test took ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      clearInterval(beating);
      h.hub.jobs.cancel(test.id);
      await h.hub.jobs.wait(test.id).catch(() => {});
      await browser.close();
      await h.stop();
    }
  },
});
