/**
 * DHCP packets for the rogue-server probe (RFC 2131), pure: a DHCPDISCOVER to send, and the
 * reading of an answer (an OFFER and the server that made it).
 */

/** What a DHCP server offered the probe. */
export interface DhcpOffer {
  /** The server identifier (option 54), or the packet's source when absent. */
  serverId: string;
  /** The address the offer came from. */
  from: string;
  /** The address offered. */
  yiaddr: string;
}

const COOKIE = [99, 130, 83, 99];

/** A DHCPDISCOVER from `mac` with transaction id `xid`, asking for a broadcast answer. */
export function buildDiscover(xid: number, mac: readonly number[]): Uint8Array {
  const p = new Uint8Array(300);
  const v = new DataView(p.buffer);
  p[0] = 1; // BOOTREQUEST
  p[1] = 1; // Ethernet
  p[2] = 6; // hardware address length
  v.setUint32(4, xid >>> 0);
  v.setUint16(10, 0x8000); // BROADCAST flag: answer to 255.255.255.255
  p.set(mac.slice(0, 6), 28);
  p.set(COOKIE, 236);
  let i = 240;
  for (const b of [53, 1, 1]) p[i++] = b; // DHCP message type: DISCOVER
  for (const b of [55, 4, 1, 3, 6, 54]) p[i++] = b; // parameter request list
  for (const b of [60, 9, ...new TextEncoder().encode("cm-probe1")]) p[i++] = b; // vendor class
  p[i] = 255; // end
  return p;
}

/**
 * The options of a BOOTP/DHCP packet (after the magic cookie), by code; the last copy wins.
 * Null when the packet is too short, lacks the cookie or an option runs past its end.
 */
export function readDhcpOptions(packet: Uint8Array): Map<number, Uint8Array> | null {
  if (packet.length < 241) return null;
  if (COOKIE.some((c, k) => packet[236 + k] !== c)) return null;
  const options = new Map<number, Uint8Array>();
  for (let i = 240; i < packet.length;) {
    const code = packet[i];
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    if (i + 1 >= packet.length) return null;
    const len = packet[i + 1];
    if (i + 2 + len > packet.length) return null;
    options.set(code, packet.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return options;
}

/** The dotted address at byte `at` of `b`. */
export function ipAt(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Reads a DHCPOFFER for transaction `xid` from `packet` sent by `from`; null for anything else. */
export function parseOffer(packet: Uint8Array, xid: number, from: string): DhcpOffer | null {
  if (packet.length < 241 || packet[0] !== 2) return null;
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (v.getUint32(4) !== xid >>> 0) return null;
  const options = readDhcpOptions(packet);
  if (!options) return null;
  const type = options.get(53);
  if (type?.length !== 1 || type[0] !== 2) return null; // not an OFFER
  const sid = options.get(54);
  const serverId = sid?.length === 4 ? ipAt(sid, 0) : null;
  return { serverId: serverId ?? from, from, yiaddr: ipAt(packet, 16) };
}
