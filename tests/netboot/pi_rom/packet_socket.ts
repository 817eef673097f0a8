/**
 * A Linux packet socket (AF_PACKET, SOCK_DGRAM, IPv4) on one interface, through libc by FFI:
 * what a DHCP client with no address yet needs. It sends an IPv4 packet to the Ethernet
 * broadcast address with the source address 0.0.0.0, and sees the server's unicast reply to
 * an address the interface does not have yet (the kernel's own IP stack would drop it).
 * Root (CAP_NET_RAW) only; reads poll a non-blocking socket, so nothing waits on a thread.
 */

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const ETH_P_IP = 0x0800;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
});

function errno(): number {
  const p = libc.symbols.__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

function htons(n: number): number {
  return ((n & 0xff) << 8) | ((n >> 8) & 0xff);
}

/** struct sockaddr_ll for `ifindex`, optionally with a destination hardware address. */
function sockaddrLl(ifindex: number, mac?: number[]): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, ETH_P_IP); // network order
  v.setInt32(4, ifindex, true);
  if (mac) {
    b[11] = 6;
    b.set(mac, 12);
  }
  return b;
}

/** An open packet socket on one interface. */
export class PacketSocket {
  #fd: number;
  readonly #ifindex: number;

  private constructor(fd: number, ifindex: number) {
    this.#fd = fd;
    this.#ifindex = ifindex;
  }

  /** Opens a socket bound to `iface`; throws with errno when the kernel refuses. */
  static open(iface: string): PacketSocket {
    const ifindex = libc.symbols.if_nametoindex(new TextEncoder().encode(iface + "\0"));
    if (ifindex === 0) throw new Error(`no interface ${iface}`);
    const fd = libc.symbols.socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IP));
    if (fd < 0) throw new Error(`socket(AF_PACKET) failed: errno ${errno()} (root needed)`);
    const addr = sockaddrLl(ifindex);
    if (libc.symbols.bind(fd, addr, addr.length) !== 0) {
      const e = errno();
      libc.symbols.close(fd);
      throw new Error(`bind to ${iface} failed: errno ${e}`);
    }
    return new PacketSocket(fd, ifindex);
  }

  /** Sends one IPv4 packet to the Ethernet broadcast address. */
  broadcast(ipPacket: Uint8Array): void {
    const addr = sockaddrLl(this.#ifindex, [255, 255, 255, 255, 255, 255]);
    const buf = new Uint8Array(ipPacket);
    const n = Number(libc.symbols.sendto(this.#fd, buf, BigInt(buf.length), 0, addr, addr.length));
    if (n !== buf.length) throw new Error(`sendto failed: errno ${errno()}`);
  }

  /**
   * The next IPv4 packet `accept` takes, or null after `timeoutMs`. Packets it refuses are
   * dropped (the socket sees every IPv4 packet on the link, ours included).
   */
  async receive(
    timeoutMs: number,
    accept: (p: Uint8Array) => boolean,
  ): Promise<Uint8Array | null> {
    const end = performance.now() + timeoutMs;
    const buf = new Uint8Array(2048);
    while (this.#fd >= 0) {
      const n = Number(libc.symbols.recv(this.#fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n > 0) {
        const p = buf.slice(0, n);
        if (accept(p)) return p;
        continue;
      }
      if (n < 0 && errno() !== EAGAIN) throw new Error(`recv failed: errno ${errno()}`);
      if (performance.now() >= end) return null;
      await new Promise((r) => setTimeout(r, 5));
    }
    return null;
  }

  /** Closes the socket (twice is fine). */
  close(): void {
    if (this.#fd >= 0) libc.symbols.close(this.#fd);
    this.#fd = -1;
  }
}
