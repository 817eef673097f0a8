/** Debian's Chromium, headless, as the browser test and the docs screenshot launch it. */
import { type Browser, chromium } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Launches headless Chromium with no sandbox (we run as root) and none of its background
 * traffic: this machine's network is closed, and the tests only talk to loopback.
 */
export function launchChromium(timeoutMs = 60_000): Promise<Browser> {
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
