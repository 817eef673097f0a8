/**
 * The ROM replay's packets against the Raspberry Pi documentation's capture of the ROM
 * (boot-net.adoc): the DISCOVER's size, flags and options; the IPv4/UDP frame (TTL 128, id 0,
 * no UDP checksum, a valid header checksum); the OFFER as dnsmasq builds it; TFTP packets.
 */
import assert from "node:assert/strict";
import { readDhcpOptions } from "../../hub/preflight/dhcp_packet.ts";
import {
  buildRomDiscover,
  ipv4Udp,
  readIpv4Udp,
  readRomOffer,
  readTftp,
  ROM_PARAMETER_REQUEST,
  ROM_VENDOR_CLASS,
  romTftpServer,
  tftpAck,
  tftpError,
  tftpRrq,
} from "./pi_rom/wire.ts";

const MAC = "b8:27:eb:28:f6:6d";

Deno.test("the ROM's DISCOVER: 320 bytes, flags 0, the documented options in order", () => {
  const p = buildRomDiscover({ xid: 0x26f30339, mac: MAC, serial: "8e42a007" });
  assert.equal(p.length, 320);
  const v = new DataView(p.buffer);
  assert.deepEqual([p[0], p[1], p[2], p[3]], [1, 1, 6, 0]);
  assert.equal(v.getUint32(4), 0x26f30339);
  assert.equal(v.getUint16(10), 0, "no broadcast flag: the reply comes unicast");
  assert.equal(v.getUint32(12), 0, "ciaddr 0");
  assert.deepEqual([...p.subarray(28, 34)], [0xb8, 0x27, 0xeb, 0x28, 0xf6, 0x6d]);
  const o = readDhcpOptions(p)!;
  assert.deepEqual([...o.keys()], [53, 55, 93, 94, 97, 60]);
  assert.deepEqual([...o.get(53)!], [1]);
  assert.deepEqual([...o.get(55)!], ROM_PARAMETER_REQUEST);
  assert.deepEqual([...o.get(93)!], [0, 0]);
  assert.deepEqual([...o.get(94)!], [1, 2, 1]);
  const guid = o.get(97)!;
  assert.equal(guid.length, 17);
  assert.equal(guid[0], 0);
  assert.equal(new DataView(guid.buffer, guid.byteOffset).getUint32(13), 0x8e42a007);
  assert.equal(new TextDecoder().decode(o.get(60)), ROM_VENDOR_CLASS);
});

Deno.test("IPv4/UDP as the ROM sends it, read back", () => {
  const payload = new Uint8Array([1, 2, 3]);
  const p = ipv4Udp({ src: "0.0.0.0", dst: "255.255.255.255", sport: 68, dport: 67, payload });
  assert.equal(p.length, 31);
  assert.equal(p[8], 128, "TTL 128");
  assert.deepEqual([p[4], p[5]], [0, 0], "IP id 0");
  assert.deepEqual([p[26], p[27]], [0, 0], "no UDP checksum");
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (p[i] << 8) + p[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff, "the header checksum holds");
  const u = readIpv4Udp(p)!;
  assert.deepEqual({ ...u, payload: [...u.payload] }, {
    src: "0.0.0.0",
    dst: "255.255.255.255",
    sport: 68,
    dport: 67,
    payload: [1, 2, 3],
  });
  const tcp = p.slice();
  tcp[9] = 6;
  assert.equal(readIpv4Udp(tcp), null);
});

Deno.test("an OFFER: the address, the server and 'Raspberry Pi Boot' in option 43", () => {
  const p = new Uint8Array(300);
  p[0] = 2;
  new DataView(p.buffer).setUint32(4, 0x26f30339);
  p.set([10, 42, 0, 7], 16);
  p.set([10, 42, 0, 250], 20);
  p.set([99, 130, 83, 99], 236);
  const pxe = [6, 1, 3, 10, 4, 0, ...new TextEncoder().encode("PXE")];
  const menu = [9, 20, 0, 0, 17, ...new TextEncoder().encode("Raspberry Pi Boot")];
  const o43 = [...pxe, ...menu, 255];
  p.set(
    [53, 1, 2, 54, 4, 10, 42, 0, 250, 1, 4, 255, 255, 255, 0, 43, o43.length, ...o43, 255],
    240,
  );
  const offer = readRomOffer(p, 0x26f30339)!;
  assert.equal(offer.yiaddr, "10.42.0.7");
  assert.equal(offer.serverId, "10.42.0.250");
  assert.equal(offer.netmask, "255.255.255.0");
  assert.ok(offer.piBoot);
  assert.equal(romTftpServer(offer), "10.42.0.250");
  assert.equal(readRomOffer(p, 1), null, "another transaction");
  p[242] = 5; // an ACK is no OFFER
  assert.equal(readRomOffer(p, 0x26f30339), null);
});

Deno.test("TFTP: a read request with no options, ACKs, errors, data", () => {
  assert.deepEqual(
    new TextDecoder().decode(tftpRrq("bootcode.bin")),
    "\0\x01bootcode.bin\0octet\0",
  );
  assert.equal(tftpRrq("bootcode.bin").length, 21, "the documented 21-byte RRQ");
  assert.deepEqual([...tftpAck(0x1234)], [0, 4, 0x12, 0x34]);
  assert.deepEqual(readTftp(tftpError(1, "File not found")), {
    op: "error",
    code: 1,
    message: "File not found",
  });
  const data = readTftp(new Uint8Array([0, 3, 0, 7, 9, 9]))!;
  assert.equal(data.op, "data");
  assert.ok(data.op === "data" && data.block === 7 && data.data.length === 2);
  assert.equal(readTftp(new Uint8Array([0, 3])), null);
});
