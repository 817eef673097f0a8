/** Parsers for dnsmasq's lease file and for the lines our dhcp-script hook appends. */
import type { LeaseAction, LeaseEvent } from "./mac_learner.ts";

/** One entry of dnsmasq's lease file: `EXPIRY MAC IP HOSTNAME CLIENT-ID`. */
export interface Lease {
  /** Expiry, ms since the epoch (0 = infinite). */
  expiresAt: number;
  mac: string;
  ip: string;
  hostname: string | null;
}

/** Parses dnsmasq's lease file; malformed lines (and the DUID line) are skipped. */
export function parseLeaseFile(text: string): Lease[] {
  const leases: Lease[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^[0-9]+$/.test(f[0])) continue;
    leases.push({
      expiresAt: Number(f[0]) * 1000,
      mac: f[1].toLowerCase(),
      ip: f[2],
      hostname: f[3] === "*" ? null : f[3],
    });
  }
  return leases;
}

const ACTIONS: ReadonlySet<string> = new Set(["add", "old", "del"]);

/** Parses one hook line `EPOCH ACTION MAC IP HOSTNAME`; null for anything else. */
export function parseHookLine(line: string): LeaseEvent | null {
  const f = line.trim().split(/\s+/);
  if (f.length < 4 || !/^[0-9]+$/.test(f[0]) || !ACTIONS.has(f[1])) return null;
  return {
    at: Number(f[0]) * 1000,
    action: f[1] as LeaseAction,
    mac: f[2].toLowerCase(),
    ip: f[3],
    hostname: f[4] === undefined || f[4] === "*" ? null : f[4],
  };
}
