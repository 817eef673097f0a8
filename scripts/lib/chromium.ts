/**
 * Debian's Chromium, headless, as the browser tests and the docs screenshot launch it, driven by
 * playwright-core. The driver is a test tool fetched by scripts/install-browser-driver.sh into
 * .cache/browser-driver (pinned version and hash), not an npm dependency: deno.json and
 * deno.lock name only what users run, because the first `deno task hub` installs all of them.
 */
import { createRequire } from "node:module";
import type * as Playwright from "../../.cache/browser-driver/node_modules/playwright-core/index.d.ts";

export type Browser = Playwright.Browser;
export type Page = Playwright.Page;

/** Where scripts/install-browser-driver.sh puts playwright-core. */
export const DRIVER_DIR = new URL(
  "../../.cache/browser-driver/node_modules/playwright-core",
  import.meta.url,
).pathname;

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Launches headless Chromium with no sandbox (we run as root) and none of its background
 * traffic: this machine's network is closed, and the tests only talk to loopback.
 */
export function launchChromium(timeoutMs = 60_000): Promise<Browser> {
  const { chromium } = createRequire(import.meta.url)(DRIVER_DIR) as typeof Playwright;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
    timeout: timeoutMs,
  });
}
