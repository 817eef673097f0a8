/**
 * The Raspberry Pi 3B+ boot ROM's packets, pure: the DHCPDISCOVER it broadcasts, the IPv4/UDP
 * frame around it, the reading of the server's OFFER, and TFTP (RFC 1350) packets. Shapes
 * follow the Raspberry Pi documentation's capture of the ROM (boot-net.adoc, "DHCP Request /
 * Reply" and "TFTP file read"): a 320-byte BOOTP request from 0.0.0.0:68 to
 * 255.255.255.255:67 with TTL 128, IP id 0, no UDP checksum and flags 0 (so the reply comes
 * unicast to the offered address); options 53, 55 (43, 60, 67, 128-135, 66), 93 (arch 0),
 * 94 (UNDI 1.2.1), 97 (GUID; on the 3B+ it carries the serial number) and 60
 * `PXEClient:Arch:00000:UNDI:002001`. TFTP read requests carry no options (`RRQ "bootcode.bin"
 * octet`): 512-byte blocks, one ACK each.
 */
import { ipAt, readDhcpOptions } from "../../../hub/preflight/dhcp_packet.ts";

/** The vendor class (option 60) the ROM sends. */
export const ROM_VENDOR_CLASS = "PXEClient:Arch:00000:UNDI:002001";
/** What the ROM looks for in option 43. */
export const PI_BOOT_SERVICE = "Raspberry Pi Boot";
/** The BOOTP payload length of the ROM's request, as in the documented capture. */
export const ROM_BOOTP_LENGTH = 320;
/** The parameter request list (option 55) of the documented capture. */
export const ROM_PARAMETER_REQUEST = [43, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135, 66];

const COOKIE = [99, 130, 83, 99];
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parses `aa:bb:…` into six bytes. */
export function macBytes(mac: string): number[] {
  const b = mac.split(":").map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC ${mac}`);
  return b;
}

/**
 * The ROM's DHCPDISCOVER. `serial` is the board's 32-bit serial number (8 hex digits): the
 * 3B+ puts it in the GUID (option 97), the 3B sent a constant there.
 */
export function buildRomDiscover(o: { xid: number; mac: string; serial: string }): Uint8Array {
  const p = new Uint8Array(ROM_BOOTP_LENGTH);
  const v = new DataView(p.buffer);
  p[0] = 1; // BOOTREQUEST
  p[1] = 1; // Ethernet
  p[2] = 6;
  v.setUint32(4, o.xid >>> 0);
  // secs 0, flags 0 (no broadcast bit): the server answers unicast to the offered address
  p.set(macBytes(o.mac), 28);
  p.set(COOKIE, 236);
  const guid = new Uint8Array(16);
  new DataView(guid.buffer).setUint32(12, parseInt(o.serial, 16) >>> 0);
  const options: number[] = [
    ...[53, 1, 1],
    ...[55, ROM_PARAMETER_REQUEST.length, ...ROM_PARAMETER_REQUEST],
    ...[93, 2, 0, 0],
    ...[94, 3, 1, 2, 1],
    ...[97, 17, 0, ...guid],
    ...[60, ROM_VENDOR_CLASS.length, ...enc.encode(ROM_VENDOR_CLASS)],
    255,
  ];
  p.set(options, 240);
  return p;
}

/** What the ROM reads from an OFFER. */
export interface RomOffer {
  xid: number;
  yiaddr: string;
  siaddr: string;
  /** Option 54. */
  serverId: string | null;
  /** Option 66 (TFTP server name), when sent. */
  tftpServerName: string | null;
  /** Option 43 as bytes, hex. */
  option43: string;
  /** Whether option 43 holds "Raspberry Pi Boot" (what the ROM checks). */
  piBoot: boolean;
  /** Option 1, when sent. */
  netmask: string | null;
}

/** Reads an OFFER for `xid` (a BOOTP payload); null for anything else. */
export function readRomOffer(payload: Uint8Array, xid: number): RomOffer | null {
  if (payload.length < 241 || payload[0] !== 2) return null;
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (v.getUint32(4) !== xid >>> 0) return null;
  const options = readDhcpOptions(payload);
  const type = options?.get(53);
  if (!options || type?.length !== 1 || type[0] !== 2) return null;
  const o43 = options.get(43) ?? new Uint8Array();
  const sid = options.get(54);
  const mask = options.get(1);
  const o66 = options.get(66);
  return {
    xid,
    yiaddr: ipAt(payload, 16),
    siaddr: ipAt(payload, 20),
    serverId: sid?.length === 4 ? ipAt(sid, 0) : null,
    tftpServerName: o66 ? dec.decode(o66).replace(/\0+$/, "") : null,
    option43: [...o43].map((b) => b.toString(16).padStart(2, "0")).join(""),
    piBoot: dec.decode(o43).includes(PI_BOOT_SERVICE),
    netmask: mask?.length === 4 ? ipAt(mask, 0) : null,
  };
}

/** The TFTP server the ROM reads from: option 66 when sent, else the DHCP server (option 54). */
export function romTftpServer(o: RomOffer): string | null {
  if (o.tftpServerName && /^\d{1,3}(\.\d{1,3}){3}$/.test(o.tftpServerName)) {
    return o.tftpServerName;
  }
  return o.serverId;
}

function ipBytes(ip: string): number[] {
  return ip.split(".").map(Number);
}

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) + (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet carrying one UDP datagram, as the ROM sends it (TTL 128, id 0, no UDP sum). */
export function ipv4Udp(o: {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
}): Uint8Array {
  const total = 20 + 8 + o.payload.length;
  const p = new Uint8Array(total);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, total);
  p[8] = 128; // TTL
  p[9] = 17; // UDP
  p.set(ipBytes(o.src), 12);
  p.set(ipBytes(o.dst), 16);
  v.setUint16(10, checksum(p.subarray(0, 20)));
  v.setUint16(20, o.sport);
  v.setUint16(22, o.dport);
  v.setUint16(24, 8 + o.payload.length);
  // UDP checksum 0: none, as the ROM sends
  p.set(o.payload, 28);
  return p;
}

/** A UDP datagram read out of an IPv4 packet, or null. */
export interface UdpDatagram {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
}

/** Reads an IPv4/UDP packet; null for anything else (other protocols, fragments, short). */
export function readIpv4Udp(p: Uint8Array): UdpDatagram | null {
  if (p.length < 28 || p[0] >> 4 !== 4 || p[9] !== 17) return null;
  const ihl = (p[0] & 0xf) * 4;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if ((v.getUint16(6) & 0x3fff) !== 0) return null; // a fragment
  const total = Math.min(v.getUint16(2), p.length);
  if (ihl + 8 > total) return null;
  const udpLen = v.getUint16(ihl + 4);
  return {
    src: ipAt(p, 12),
    dst: ipAt(p, 16),
    sport: v.getUint16(ihl),
    dport: v.getUint16(ihl + 2),
    payload: p.subarray(ihl + 8, Math.min(ihl + udpLen, total)),
  };
}

/** TFTP opcodes (RFC 1350). */
export const TFTP = { RRQ: 1, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;
/** TFTP block size without the blksize option. */
export const TFTP_BLOCK = 512;

/** A read request in octet mode, with no options (the ROM's). */
export function tftpRrq(file: string): Uint8Array {
  return new Uint8Array([0, TFTP.RRQ, ...enc.encode(file), 0, ...enc.encode("octet"), 0]);
}

/** An ACK of `block`. */
export function tftpAck(block: number): Uint8Array {
  return new Uint8Array([0, TFTP.ACK, (block >> 8) & 0xff, block & 0xff]);
}

/** An ERROR packet (the ROM sends one to stop a transfer after the first block). */
export function tftpError(code: number, message: string): Uint8Array {
  return new Uint8Array([0, TFTP.ERROR, 0, code & 0xff, ...enc.encode(message), 0]);
}

/** A TFTP packet as read. */
export type TftpPacket =
  | { op: "data"; block: number; data: Uint8Array }
  | { op: "error"; code: number; message: string }
  | { op: "other"; opcode: number };

/** Reads a TFTP packet; null when too short. */
export function readTftp(p: Uint8Array): TftpPacket | null {
  if (p.length < 4) return null;
  const op = (p[0] << 8) | p[1];
  const n = (p[2] << 8) | p[3];
  if (op === TFTP.DATA) return { op: "data", block: n, data: p.subarray(4) };
  if (op === TFTP.ERROR) {
    return { op: "error", code: n, message: dec.decode(p.subarray(4)).replace(/\0.*$/s, "") };
  }
  return { op: "other", opcode: op };
}
