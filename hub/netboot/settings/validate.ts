/**
 * Validators for every value that ends up in a generated config file. Each one either returns
 * the value in canonical form or throws {@link NetbootConfigError} naming the setting.
 * Config formats here are line based, so newlines, quotes and separators are never allowed
 * through: that is what stops a crafted value from adding its own directives.
 */
import { NetbootConfigError } from "./errors.ts";

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** Canonical MAC form (lower case, colon separated) or throws. Accepts `-` separators too. */
export function normalizeMac(mac: string, what = "MAC"): string {
  const t = String(mac).trim();
  if (!MAC.test(t)) {
    throw new NetbootConfigError(
      `${what} "${printable(mac)}" is not a MAC address: use six hex pairs like b8:27:eb:12:34:56`,
    );
  }
  const canonical = t.toLowerCase().replaceAll("-", ":");
  if (canonical === "00:00:00:00:00:00" || canonical === "ff:ff:ff:ff:ff:ff") {
    throw new NetbootConfigError(`${what} ${canonical} is not a usable host address`);
  }
  if (parseInt(canonical.slice(0, 2), 16) & 1) {
    throw new NetbootConfigError(`${what} ${canonical} is a multicast address, not a host`);
  }
  return canonical;
}

/** True when `mac` is a valid host MAC (see {@link normalizeMac}). */
export function isMac(mac: string): boolean {
  try {
    normalizeMac(mac);
    return true;
  } catch {
    return false;
  }
}

const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/** A Linux network interface name (at most 15 characters, no separators) or throws. */
export function checkInterfaceName(name: string, what: string): string {
  if (!IFNAME.test(name)) {
    throw new NetbootConfigError(
      `${what} "${printable(name)}" is not an interface name: use up to 15 letters, digits, ` +
        `'_', '-' or '.', e.g. eth0`,
    );
  }
  return name;
}

const SAFE_PATH = /^\/[A-Za-z0-9_./-]*$/;

/**
 * The longest path setting: room for the per-node names the hub appends (`/10.42.0.60/boot.ipxe`,
 * `/node60`) well inside every config format's line, and far from PATH_MAX.
 */
export const MAX_PATH_LENGTH = 200;

/**
 * An absolute path made of safe characters only (no spaces, quotes, commas, newlines), at most
 * {@link MAX_PATH_LENGTH} characters, or throws.
 */
export function checkPath(path: string, what: string): string {
  if (path.length > MAX_PATH_LENGTH) {
    throw new NetbootConfigError(
      `${what} is ${path.length} characters long: a path setting may have at most ` +
        `${MAX_PATH_LENGTH} characters`,
      { field: what },
    );
  }
  if (!SAFE_PATH.test(path) || path.split("/").includes("..")) {
    throw new NetbootConfigError(
      `${what} "${printable(path)}" must be an absolute path of letters, digits, '_', '-', '.' ` +
        `and '/' (no spaces, quotes, commas or '..')`,
      { field: what },
    );
  }
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS domain of one or more labels, e.g. `cluster`, or throws. */
export function checkDomain(domain: string, what = "domain"): string {
  const parts = domain.split(".");
  if (domain.length > 200 || !parts.every((p) => LABEL.test(p))) {
    throw new NetbootConfigError(
      `${what} "${printable(domain)}" is not a DNS domain: use lower-case labels like cluster`,
    );
  }
  return domain;
}

/** A single line of text with no control characters (quotes allowed) or throws. */
export function checkLine(value: string, what: string, maxLength = 200): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value) || value.length > maxLength) {
    throw new NetbootConfigError(
      `${what} must be one line of at most ${maxLength} characters without control characters`,
      { field: what },
    );
  }
  return value;
}

/** One kernel argument: `word` or `key=value`, of characters no boot loader or shell reads. */
const KERNEL_ARG = /^[A-Za-z0-9_.,:=/@+%~-]+$/;

/**
 * Plain kernel arguments, separated by single spaces, or throws naming `what`. Each argument
 * is made of letters, digits and `_ . , : = / @ + % ~ -` only: no `||`, `&&`, `${…}`, `;`,
 * `#`, quotes, backslashes, tabs or newlines, which iPXE (boot.ipxe is a script) or a shell
 * would read as more than an argument. An argument may not start with `:` (an iPXE label).
 */
export function checkKernelArgs(value: string, what: string, maxLength = 400): string {
  checkLine(value, what, maxLength);
  const args = value.split(" ").filter((a) => a !== "");
  const bad = args.find((a) => !KERNEL_ARG.test(a) || a.startsWith(":"));
  if (bad !== undefined) {
    throw new NetbootConfigError(
      `${what} must be plain kernel arguments (letters, digits and _ . , : = / @ + % ~ -, ` +
        `separated by spaces), but "${printable(bad)}" is not one`,
      { field: what },
    );
  }
  return value;
}

/** A value safe inside a double-quoted, comma separated config field (no quotes, commas, `\`). */
export function checkBareWord(value: string, what: string, maxLength = 64): string {
  checkLine(value, what, maxLength);
  if (value === "" || /["',\\#\s]/.test(value)) {
    throw new NetbootConfigError(
      `${what} "${
        printable(value)
      }" may not be empty or contain quotes, commas, '\\', '#' or spaces`,
    );
  }
  return value;
}

/** Shows a rejected value safely in an error message (control characters escaped). */
export function printable(value: unknown): string {
  return JSON.stringify(String(value)).slice(1, -1).slice(0, 80);
}
