/**
 * Who this node is (model, serial, MAC, hostname, node id) and how it is (uptime, load,
 * memory, temperature), read from /proc and /sys under a filesystem root so tests run on
 * fixture trees (tests/fixtures/pi/).
 */
import { parseNodeHostname } from "../shared/node_map.ts";
import type { Model, NodeHealth, NodeIdentity } from "../shared/wire_schemas.ts";
import { parseKernelArgs } from "./cmdline.ts";
import { oneShotReader, readSmall, type SmallFileReader, underRoot } from "./fs_root.ts";
import { AGENT_VERSION } from "./version.ts";
import { parseThrottled } from "../shared/throttled.ts";
import { throwIfRefused } from "../shared/system_access.ts";

/** Where the firmware's throttling flags are read from (relative to the root). */
export const GET_THROTTLED = "/sys/devices/platform/soc/soc:firmware/get_throttled";

/** False once `vcgencmd` turned out not to be installed: it is not looked for again. */
let vcgencmdPresent = true;

/**
 * Runs `vcgencmd get_throttled`; undefined when the command is absent or fails. A missing
 * command is remembered, so a board without it costs no fork per heartbeat.
 */
export async function runVcgencmd(): Promise<string | undefined> {
  if (!vcgencmdPresent) return undefined;
  try {
    const out = await new Deno.Command("vcgencmd", {
      args: ["get_throttled"],
      stdin: "null",
      stderr: "null",
    }).output();
    return out.code === 0 ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    vcgencmdPresent = false; // not installed
    return undefined;
  }
}

/**
 * The firmware's throttling flags: the sysfs file under `root`, else `vcgencmd get_throttled`
 * (run only for the real root "/", or as given), else null.
 */
export async function readThrottled(
  root = "/",
  vcgencmd: (() => Promise<string | undefined>) | null = root === "/" ? runVcgencmd : null,
  files: SmallFileReader = oneShotReader,
): Promise<number | null> {
  const sys = files.read(root, GET_THROTTLED);
  const fromSys = sys === undefined ? undefined : parseThrottled(sys);
  if (fromSys !== undefined) return fromSys;
  const out = vcgencmd ? await vcgencmd() : undefined;
  return (out === undefined ? undefined : parseThrottled(out)) ?? null;
}

/**
 * The model a device-tree board name denotes: the Raspberry Pi kernel's ("Raspberry Pi 3 Model B
 * Plus Rev 1.3") or the mainline device tree's that Debian's kernel boots with ("Raspberry Pi 3
 * Model B+", no revision).
 */
export function modelFromBoardName(name: string): Model {
  const n = name.replace(/\0/g, "").trim();
  if (/^Raspberry Pi 3 Model B( Plus\b|\+)/.test(n)) return "pi3b+";
  if (/^Raspberry Pi 3 Model B\b/.test(n)) return "pi3b";
  if (/^Raspberry Pi 4 Model B\b/.test(n)) return "pi4";
  if (/^Raspberry Pi Zero W\b/.test(n)) return "pi0w";
  return "unknown";
}

/** The model of a new-style revision code (cpuinfo `Revision`, e.g. a020d3 → pi3b+). */
export function modelFromRevision(code: string): Model {
  const rev = parseInt(code.trim(), 16);
  if (!Number.isFinite(rev) || (rev & (1 << 23)) === 0) return "unknown";
  const type = (rev >> 4) & 0xff;
  const byType: Record<number, Model> = { 0x08: "pi3b", 0x0d: "pi3b+", 0x11: "pi4", 0x0c: "pi0w" };
  return byType[type] ?? "unknown";
}

/** One `Key : value` field of /proc/cpuinfo. */
function cpuinfoField(cpuinfo: string, key: string): string | undefined {
  const m = cpuinfo.match(new RegExp(`^${key}\\s*:\\s*(.*)$`, "m"));
  return m?.[1].trim();
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** What may override what is read (config file, flags, a virtual agent). */
export interface IdentityOptions {
  /** Filesystem root (default "/"). */
  root?: string;
  /** Node id from the config or a flag: wins over the kernel command line and hostname. */
  node?: number;
  hostname?: string;
  model?: Model;
  /** The hub's URL: the MAC reported is that of the interface with the route to it. */
  hub?: string;
}

/**
 * The interface that carries the route to the IPv4 address `host`, from the kernel's routing
 * table as /proc/net/route shows it (addresses and masks in hex, in the byte order the kernel
 * keeps them: 10.42.0.0 is `00002A0A`): the longest matching prefix of the routes that are up,
 * the lowest metric among equals. Undefined when no route matches or `host` is no IPv4 address.
 */
export function routeInterface(routeTable: string, host: string): string | undefined {
  const octets = host.split(".");
  if (octets.length !== 4 || !octets.every((o) => /^[0-9]{1,3}$/.test(o) && Number(o) < 256)) {
    return undefined;
  }
  // the address as the kernel prints it: the first octet in the low byte
  const addr = octets.reduce((a, o, i) => (a | (Number(o) << (8 * i))) >>> 0, 0);
  let best: { iface: string; bits: number; metric: number } | undefined;
  for (const line of routeTable.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, destHex, , flagsHex, , , metricText, maskHex] = f;
    const dest = parseInt(destHex, 16) >>> 0;
    const mask = parseInt(maskHex, 16) >>> 0;
    const flags = parseInt(flagsHex, 16);
    if (![dest, mask, flags].every(Number.isFinite) || (flags & 1) === 0) continue; // RTF_UP
    if (((addr & mask) >>> 0) !== dest) continue;
    const bits = mask.toString(2).replaceAll("0", "").length;
    const metric = Number(metricText);
    if (!best || bits > best.bits || (bits === best.bits && metric < best.metric)) {
      best = { iface, bits, metric };
    }
  }
  return best?.iface;
}

/** An interface's MAC under `root`, lower case; undefined if it has none (or all zeros). */
async function interfaceMac(root: string, iface: string): Promise<string | undefined> {
  if (!/^[^/\s]+$/.test(iface) || iface === "." || iface === "..") return undefined;
  const a = (await readSmall(root, `/sys/class/net/${iface}/address`))?.toLowerCase();
  return a && MAC.test(a) && a !== "00:00:00:00:00:00" ? a : undefined;
}

/**
 * The node's MAC: that of the interface with the route to the hub (`hub`, a URL, with an IPv4
 * address; with a host name, the default route's), else eth0's, wlan0's, or the first other
 * interface's (by name) that has one, loopback aside. A netbooted Pi's NIC need not be eth0:
 * the Pi lab's is usb0 (QEMU's usb-net gadget), a Zero W's wlan0.
 */
export async function readMac(root: string, hub?: string): Promise<string | null> {
  const candidates: string[] = [];
  if (hub) {
    let host = "";
    try {
      host = new URL(hub).hostname;
    } catch { /* not a URL: no route to look up */ }
    const table = host ? await readSmall(root, "/proc/net/route") : undefined;
    const via = table === undefined ? undefined : routeInterface(table, host) ??
      (/^[0-9.]+$/.test(host) ? undefined : routeInterface(table, "0.0.0.0"));
    if (via) candidates.push(via);
  }
  candidates.push("eth0", "wlan0");
  let others: string[] = [];
  try {
    for await (const e of Deno.readDir(underRoot(root, "/sys/class/net"))) others.push(e.name);
  } catch (e) {
    throwIfRefused(e, underRoot(root, "/sys/class/net"));
  }
  others = others.filter((n) => n !== "lo").sort();
  for (const iface of [...candidates, ...others]) {
    const mac = await interfaceMac(root, iface);
    if (mac) return mac;
  }
  return null;
}

/**
 * Reads the node's identity. What cannot be read is left empty or unknown; only Deno's refusal of
 * /proc or /sys (no `--allow-all`) throws, a SystemAccessError: an unreadable model must never
 * pass for an unknown one (a Zero W would blink with the wrong polarity).
 */
export async function readIdentity(opts: IdentityOptions = {}): Promise<NodeIdentity> {
  const root = opts.root ?? "/";
  const cpuinfo = (await readSmall(root, "/proc/cpuinfo")) ?? "";
  const dtModel = await readSmall(root, "/proc/device-tree/model");
  const boardName = (dtModel ?? cpuinfoField(cpuinfo, "Model") ?? "").slice(0, 200);
  let model = opts.model ?? modelFromBoardName(boardName);
  if (model === "unknown" && !opts.model) {
    model = modelFromRevision(cpuinfoField(cpuinfo, "Revision") ?? "");
  }
  const serial = (await readSmall(root, "/proc/device-tree/serial-number")) ??
    cpuinfoField(cpuinfo, "Serial") ?? "";
  const mac = await readMac(root, opts.hub);
  const hostname = opts.hostname ?? (await readSmall(root, "/etc/hostname")) ??
    (root === "/" ? Deno.hostname() : "localhost");
  const kernel = parseKernelArgs((await readSmall(root, "/proc/cmdline")) ?? "");
  const node = opts.node ?? kernel.node ?? parseNodeHostname(hostname);
  return {
    ...(node !== undefined ? { node } : {}),
    hostname: hostname.slice(0, 253) || "localhost",
    model,
    boardName,
    serial: serial.slice(0, 64),
    mac,
    agentVersion: AGENT_VERSION,
  };
}

const MEMINFO_FIELDS = ["MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached"] as const;
/** One pattern per field, compiled once (readHealth runs every heartbeat). */
const MEMINFO_RE = Object.fromEntries(
  MEMINFO_FIELDS.map((k) => [k, new RegExp(`^${k}:\\s+([0-9]+) kB`, "m")]),
) as Record<typeof MEMINFO_FIELDS[number], RegExp>;

/** A /proc/meminfo field in bytes. */
function meminfo(text: string, key: typeof MEMINFO_FIELDS[number]): number | undefined {
  const m = MEMINFO_RE[key].exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * Sensors found missing: a board without a thermal zone does not grow one, and asking again
 * every heartbeat would cost a thrown NotFound each time.
 */
const NO_SENSOR = new Set<string>();

/**
 * Reads uptime, load, memory, CPU temperature and the firmware's throttling flags. Missing
 * figures read as 0 / null. The reads are synchronous (readSmallSync): six small kernel files
 * once a heartbeat (`vcgencmd` runs only where the sysfs file is missing, and is looked for once).
 */
export async function readHealth(
  root = "/",
  vcgencmd?: (() => Promise<string | undefined>) | null,
  /** How the files are read (default: opened and closed each time; the agent keeps them open). */
  files: SmallFileReader = oneShotReader,
): Promise<NodeHealth> {
  const uptime = Number((files.read(root, "/proc/uptime") ?? "0").split(/\s+/)[0]);
  const load1 = Number((files.read(root, "/proc/loadavg") ?? "0").split(/\s+/)[0]);
  const mem = files.read(root, "/proc/meminfo") ?? "";
  const total = meminfo(mem, "MemTotal") ?? 0;
  const available = meminfo(mem, "MemAvailable") ??
    (meminfo(mem, "MemFree") ?? 0) + (meminfo(mem, "Buffers") ?? 0) + (meminfo(mem, "Cached") ?? 0);
  const milli = files.read(root, "/sys/class/thermal/thermal_zone0/temp", NO_SENSOR);
  const temp = milli !== undefined && /^-?[0-9]+$/.test(milli) ? Number(milli) / 1000 : null;
  return {
    uptimeSeconds: Number.isFinite(uptime) && uptime >= 0 ? uptime : 0,
    load1: Number.isFinite(load1) && load1 >= 0 ? load1 : 0,
    memTotalBytes: total,
    memAvailableBytes: Math.min(available, total || available),
    cpuTempCelsius: temp,
    throttled: await readThrottled(root, vcgencmd === undefined ? undefined : vcgencmd, files),
  };
}
