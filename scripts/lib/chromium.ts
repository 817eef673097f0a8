/**
 * Debian's Chromium, headless, as the browser tests and the docs screenshot launch it.
 *
 * playwright-core is named here only, by full specifier, and not in deno.json: every package
 * deno.json names is installed by the first `deno task hub`, which never needs a browser.
 */
// deno-lint-ignore no-import-prefix -- test-only: deno.json must not name it (see above)
import { type Browser, chromium, type Page } from "npm:playwright-core@1.65.1";

export type { Browser, Page };

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
