/**
 * The I/O behind the preflight checks, behind one narrow interface with the real
 * implementation here (tests pass a fake, or the real one with a runner that runs commands in
 * a network namespace).
 */
import { fileURLToPath } from "node:url";
import type { ProcessRunner } from "../netboot/runtime/process_runner.ts";
import type { DhcpOffer } from "./dhcp_packet.ts";
import type { TftpRootListing } from "./checks.ts";

/** What the preflight reads from the system. */
export interface PreflightProbes {
  /** Broadcasts a DHCPDISCOVER to `broadcast` and collects the offers for `timeoutMs`. */
  dhcpOffers(
    broadcast: string,
    timeoutMs: number,
  ): Promise<{ offers: DhcpOffer[] } | { error: string }>;
  /** The files of a directory and whether each can be read; null when it cannot be listed. */
  listDir(path: string): Promise<TftpRootListing | null>;
  /** IPv4 addresses of an interface; null when there is no such interface. */
  addresses(iface: string): Promise<string[] | null>;
  /** Whether the clock is NTP-synchronised; null when that cannot be told. */
  ntpSynced(): Promise<boolean | null>;
}

/** config.txt is a few hundred bytes; more than this is not one. */
const CONFIG_TXT_MAX = 64 * 1024;

/** A small text file, or null when it cannot be read or is larger than CONFIG_TXT_MAX. */
async function readSmallText(path: string): Promise<string | null> {
  try {
    const st = await Deno.stat(path);
    if (st.size > CONFIG_TXT_MAX) return null;
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

const PROBE = fileURLToPath(new URL("./dhcp_probe_main.ts", import.meta.url));

/** The real probes; commands go through `runner` (the probe runs as its own Deno process). */
export function realProbes(runner: ProcessRunner): PreflightProbes {
  return {
    async dhcpOffers(broadcast, timeoutMs) {
      const r = await runner.run(Deno.execPath(), [
        "run",
        "--allow-net",
        "--no-prompt",
        PROBE,
        broadcast,
        String(timeoutMs),
      ]);
      const line = r.stdout.trim().split("\n").pop() ?? "";
      try {
        const out = JSON.parse(line) as { offers?: DhcpOffer[]; error?: string };
        if (out.offers) return { offers: out.offers };
        return { error: out.error ?? `probe exited ${r.code}` };
      } catch {
        return { error: `probe exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)}` };
      }
    },
    async listDir(path) {
      try {
        const files: TftpRootListing["files"] = [];
        for await (const e of Deno.readDir(path)) {
          if (!e.isFile && !e.isSymlink) continue;
          const readable = await Deno.open(`${path}/${e.name}`, { read: true }).then((f) => {
            f.close();
            return true;
          }, () => false);
          files.push({ name: e.name, readable });
        }
        const config = files.some((f) => f.name === "config.txt" && f.readable)
          ? await readSmallText(`${path}/config.txt`)
          : null;
        return { files, configTxt: config };
      } catch {
        return null;
      }
    },
    async addresses(iface) {
      const r = await runner.run("ip", ["-4", "-o", "addr", "show", "dev", iface]);
      if (r.code !== 0) return null;
      return [...r.stdout.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
    },
    async ntpSynced() {
      if (await Deno.stat("/run/systemd/timesync/synchronized").then(() => true, () => false)) {
        return true;
      }
      const r = await runner.run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]);
      if (r.code !== 0) return null;
      return r.stdout.trim() === "yes";
    },
  };
}
