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

function ip(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Reads a DHCPOFFER for transaction `xid` from `packet` sent by `from`; null for anything else. */
export function parseOffer(packet: Uint8Array, xid: number, from: string): DhcpOffer | null {
  if (packet.length < 241 || packet[0] !== 2) return null;
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (v.getUint32(4) !== xid >>> 0) return null;
  if (COOKIE.some((c, k) => packet[236 + k] !== c)) return null;
  let type = 0;
  let serverId: string | null = null;
  for (let i = 240; i < packet.length;) {
    const code = packet[i];
    if (code === 255) break;
    if (code === 0) {
      i++;
      continue;
    }
    const len = packet[i + 1];
    if (i + 2 + len > packet.length) return null;
    if (code === 53 && len === 1) type = packet[i + 2];
    if (code === 54 && len === 4) serverId = ip(packet, i + 2);
    i += 2 + len;
  }
  if (type !== 2) return null; // not an OFFER
  return { serverId: serverId ?? from, from, yiaddr: ip(packet, 16) };
}
