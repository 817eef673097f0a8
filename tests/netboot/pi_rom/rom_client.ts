/**
 * The Raspberry Pi 3B+ boot ROM's netboot conversation, replayed on a real link (run it as
 * root inside the node's network namespace). In order, as the Raspberry Pi documentation
 * (boot-net.adoc) describes it:
 *
 * 1. DHCPDISCOVER (the ROM's exact request, {@link buildRomDiscover}) broadcast from
 *    0.0.0.0, up to `tries` times `intervalMs` apart (5 and 5 s on a real ROM); an OFFER
 *    whose option 43 lacks "Raspberry Pi Boot" is ignored. The ROM **never sends a
 *    DHCPREQUEST**: it takes the offered address and goes on.
 * 2. TFTP `bootcode.bin`, then `bootsig.bin` ("not found" is normal).
 * 3. bootcode.bin asks DHCP once more (its console prints "Sending DHCP request",
 *    raspberrypi/firmware#1124), again DISCOVER only.
 * 4. `<serial>/start.elf` is probed (first block, then abort); when it exists, every later
 *    file is read from under `<serial>/`.
 * 5. `config.txt`, `start.elf`, `fixup.dat`, `cmdline.txt`, then what config.txt names: the
 *    kernel, the DTB (firmware choice, see `firmware.ts`), the initramfs, the overlays.
 *
 * Prints one JSON line per step to stdout (`{"step": …, "at": ms since start, …}`), the last
 * one `{"step":"done", …}`. Exits 0 when it ran to the end (the test judges the steps), 1 on
 * a fault of its own.
 *
 * `deno run --allow-all tests/netboot/pi_rom/rom_client.ts IFACE MAC SERIAL [--tries N]
 *  [--interval-ms MS] [--no-second-dhcp] [--dhcp-only]`
 */
import { parseArgs } from "node:util";
import { PacketSocket } from "./packet_socket.ts";
import { tftpGet } from "./tftp_client.ts";
import { dtbCandidates, readConfigTxt } from "../../../hub/preflight/pi_boot_files.ts";
import {
  buildRomDiscover,
  ipv4Udp,
  readIpv4Udp,
  readRomOffer,
  type RomOffer,
  romTftpServer,
} from "./wire.ts";

/** The transaction id in every capture of the ROM (boot-net.adoc, firmware#764): a constant. */
export const ROM_XID = 0x26f30339;
/** The ROM's first TFTP source port in the documented capture. */
const FIRST_TFTP_PORT = 49152;

const t0 = performance.now();
function emit(step: string, data: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ step, at: Math.round(performance.now() - t0), ...data }));
}

function prefixLength(mask: string | null): number {
  if (!mask) return 24;
  return mask.split(".").map(Number).reduce(
    (n, o) => n + o.toString(2).replaceAll("0", "").length,
    0,
  );
}

/** DISCOVER up to `tries` times; the first OFFER with the Pi service, or null. */
async function discover(
  sock: PacketSocket,
  o: { mac: string; serial: string; xid: number; tries: number; intervalMs: number; who: string },
): Promise<RomOffer | null> {
  const packet = ipv4Udp({
    src: "0.0.0.0",
    dst: "255.255.255.255",
    sport: 68,
    dport: 67,
    payload: buildRomDiscover(o),
  });
  for (let attempt = 1; attempt <= o.tries; attempt++) {
    const sentAt = performance.now();
    sock.broadcast(packet);
    emit("dhcp_discover", { by: o.who, attempt, xid: o.xid });
    const end = sentAt + o.intervalMs;
    while (performance.now() < end) {
      let offer: RomOffer | null = null;
      const got = await sock.receive(end - performance.now(), (p) => {
        const u = readIpv4Udp(p);
        if (!u || u.dport !== 68 || u.sport !== 67) return false;
        offer = readRomOffer(u.payload, o.xid);
        return offer !== null;
      });
      if (!got || !offer) break;
      const off: RomOffer = offer;
      emit("dhcp_offer", {
        by: o.who,
        attempt,
        yiaddr: off.yiaddr,
        serverId: off.serverId,
        siaddr: off.siaddr,
        piBoot: off.piBoot,
        option43: off.option43,
        delayMs: Math.round(performance.now() - sentAt),
      });
      if (off.piBoot) return off;
    }
  }
  emit("dhcp_gave_up", { by: o.who, tries: o.tries });
  return null;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      tries: { type: "string", default: "5" },
      "interval-ms": { type: "string", default: "5000" },
      "no-second-dhcp": { type: "boolean", default: false },
      "dhcp-only": { type: "boolean", default: false },
    },
  });
  const [iface, mac, serial] = positionals;
  if (!iface || !mac || !/^[0-9a-f]{8}$/.test(serial ?? "")) {
    console.error("usage: rom_client.ts IFACE MAC SERIAL(8 hex digits) [--tries N] …");
    return 2;
  }
  const tries = Number(values.tries);
  const intervalMs = Number(values["interval-ms"]);
  const sock = PacketSocket.open(iface);
  let offer: RomOffer | null;
  try {
    offer = await discover(sock, { mac, serial, xid: ROM_XID, tries, intervalMs, who: "rom" });
  } finally {
    sock.close();
  }
  if (!offer || values["dhcp-only"]) {
    emit("done", { reached: "dhcp" });
    return 0;
  }
  // The ROM's own IP stack now answers as the offered address (no lease was ever requested).
  const server = romTftpServer(offer);
  const cidr = `${offer.yiaddr}/${prefixLength(offer.netmask)}`;
  const ip = await new Deno.Command("ip", { args: ["addr", "add", cidr, "dev", iface] }).output();
  if (ip.code !== 0) throw new Error(`ip addr add ${cidr}: ${new TextDecoder().decode(ip.stderr)}`);
  emit("address", { cidr, tftpServer: server });
  if (!server) {
    emit("done", { reached: "dhcp", error: "no TFTP server in the offer" });
    return 0;
  }
  let port = FIRST_TFTP_PORT;
  const get = async (file: string, probe = false, keep = false) => {
    const { data, ...r } = await tftpGet({
      server,
      file,
      localAddress: offer.yiaddr,
      localPort: port++,
      probe,
      keep,
    });
    emit("tftp", { ...r });
    return { ...r, data };
  };

  const bootcode = await get("bootcode.bin");
  if (bootcode.result !== "ok") {
    emit("done", { reached: "bootcode.bin" });
    return 0;
  }
  await get("bootsig.bin");
  // bootcode.bin runs: it asks DHCP again (DISCOVER only, like the ROM)
  if (!values["no-second-dhcp"]) {
    const again = PacketSocket.open(iface);
    try {
      const xid = crypto.getRandomValues(new Uint32Array(1))[0];
      await discover(again, { mac, serial, xid, tries, intervalMs, who: "bootcode.bin" });
    } finally {
      again.close();
    }
  }
  const serialDir = await get(`${serial}/start.elf`, true);
  const prefix = serialDir.result === "exists" ? `${serial}/` : "";
  emit("prefix", { prefix });
  const config = await get(`${prefix}config.txt`, false, true);
  for (const f of ["start.elf", "fixup.dat"]) await get(prefix + f);
  const cfg = config.data ? readConfigTxt(new TextDecoder().decode(config.data)) : null;
  emit("config", { ...cfg });
  await get(`${prefix}cmdline.txt`);
  if (cfg) {
    await get(prefix + cfg.kernel);
    for (const dtb of dtbCandidates(cfg)) {
      if ((await get(prefix + dtb)).result === "ok") break;
    }
    if (cfg.initramfs) await get(prefix + cfg.initramfs);
    for (const o of cfg.overlays) await get(`${prefix}overlays/${o}.dtbo`);
  }
  emit("done", { reached: "firmware" });
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    emit("fault", { error: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
}
