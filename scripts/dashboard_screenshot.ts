/**
 * `deno task docs:screenshot`: renders docs/dashboard.png (a laptop, 1280×800) and, beside it,
 * dashboard-phone.png (a phone, 390×844) from a live virtual cluster: a bootstrap of the LAN
 * bays (the vendor's 1-16,23,30-60), node 7 identifying, bus 8 switched off, one agent crashed
 * (lost). Needs Debian's /usr/bin/chromium (scripts/install-chromium.sh).
 */
import { launchChromium } from "./lib/chromium.ts";
import { startVirtualHub } from "./lib/virtual_hub.ts";

const out = Deno.args[0] ?? "docs/dashboard.png";
const v = await startVirtualHub(0.02);
const { status, nodeSettings, powerControl, jobs } = v.hub;
try {
  nodeSettings.setEnabled(status.nodeSet("17-22,24-29"), false);
  const boot = v.hub.bootstrap.start(status.targetNodes());
  await jobs.wait(boot.id);
  await jobs.wait(powerControl.power(status.nodeSet("43-48"), "off").id);
  nodeSettings.setLed(7, "identify");
  await v.virtual.kill(52); // a crashed agent: the bay goes lost after 3 s of silence
  await new Promise((r) => setTimeout(r, 4000));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${v.url}/`);
    await page.waitForTimeout(2500);
    await page.screenshot({ path: out });
    console.log(`wrote ${out}`);
    const phoneOut = out.replace(/\.png$/, "-phone.png");
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${v.url}/`);
    await phone.waitForTimeout(2500);
    await phone.screenshot({ path: phoneOut });
    console.log(`wrote ${phoneOut}`);
  } finally {
    await browser.close();
  }
} finally {
  await v.close();
}
