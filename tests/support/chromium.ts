/**
 * Chromium for the dashboard browser tests: finds Debian's /usr/bin/chromium and installs it
 * (as root, or when CI=true) when missing. `chromiumMissing` is null when it is there; else
 * why not, and the tests are skipped with that message (or fail when CI=true).
 */
import { CHROMIUM_PATH, DRIVER_DIR } from "../../scripts/lib/chromium.ts";

/** Set by CI: a missing browser is a failure there, not a skip. */
export const CI = Deno.env.get("CI") === "true";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Finds Chromium, installing it (as root) when missing; null when it is there. */
async function ensureChromium(): Promise<string | null> {
  if (!await exists(`${DRIVER_DIR}/package.json`)) {
    return `no browser driver in ${DRIVER_DIR}; run scripts/install-browser-driver.sh`;
  }
  if (await exists(CHROMIUM_PATH)) return null;
  if (Deno.uid() === 0 || CI) {
    const script = new URL("../../scripts/install-chromium.sh", import.meta.url).pathname;
    const out = await new Deno.Command("sh", { args: [script], stdout: "piped", stderr: "piped" })
      .output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
    if (out.success && await exists(CHROMIUM_PATH)) return null;
    return `scripts/install-chromium.sh failed: ${
      new TextDecoder().decode(out.stderr).slice(-400)
    }`;
  }
  return `${CHROMIUM_PATH} is missing; run scripts/install-chromium.sh as root`;
}

/** Null when Chromium is there; else why not. */
export const chromiumMissing = await ensureChromium();
if (chromiumMissing && !CI) {
  console.warn(`dashboard browser tests SKIPPED: ${chromiumMissing}`);
}

/** For `Deno.test`'s `ignore`: skip without a browser, except in CI (where the test fails). */
export const skipWithoutChromium = chromiumMissing !== null && !CI;

/** Throws in CI when the browser is missing (the test then fails with the reason). */
export function requireChromium(): void {
  if (chromiumMissing) throw new Error(`CI=true but Chromium is unavailable: ${chromiumMissing}`);
}
