/**
 * A TFTP read (RFC 1350) as the Pi ROM and firmware do it: a read request with no options,
 * 512-byte blocks, one ACK per block to the port the server answered from; lost packets are
 * retried by resending the last packet. `probe` stops after the first block with an ERROR,
 * which is how the firmware checks whether a file exists (`<serial>/start.elf`).
 */
import dgram from "node:dgram";
import { readTftp, TFTP_BLOCK, tftpAck, tftpError, tftpRrq } from "./wire.ts";

/** How one read ended. */
export interface TftpResult {
  file: string;
  /** ok: all of it; exists: the first block came (probe); not_found / error: an ERROR came. */
  result: "ok" | "exists" | "not_found" | "error" | "timeout";
  bytes: number;
  /** SHA-256 of the data read, hex (ok only). */
  sha256: string | null;
  /** The server's ERROR text, if any. */
  message: string | null;
  ms: number;
}

/** Options of one read. */
export interface TftpGetOptions {
  server: string;
  file: string;
  /** The local address and port to send from. */
  localAddress: string;
  localPort: number;
  probe?: boolean;
  /** Also return the data (small files such as config.txt). */
  keep?: boolean;
  /** Wait for each packet before resending, ms. */
  timeoutMs?: number;
  /** Resends before giving up. */
  retries?: number;
}

/** SHA-256 of `data`, hex. */
export async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

interface Datagram {
  msg: Uint8Array;
  port: number;
  address: string;
}

/** Reads one file; never throws for a server's answer, only for a socket that cannot open. */
export async function tftpGet(
  o: TftpGetOptions,
): Promise<TftpResult & { data?: Uint8Array }> {
  const t0 = performance.now();
  const timeoutMs = o.timeoutMs ?? 2000;
  const retries = o.retries ?? 5;
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const queue: Datagram[] = [];
  let wake: (() => void) | null = null;
  sock.on("message", (msg, rinfo) => {
    if (queue.length < 64) {
      queue.push({ msg: new Uint8Array(msg), port: rinfo.port, address: rinfo.address });
    }
    wake?.();
  });
  sock.on("error", () => wake?.());
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(o.localPort, o.localAddress, () => resolve());
  });
  const send = (b: Uint8Array, port: number) =>
    new Promise<void>((r) => sock.send(b, port, o.server, () => r()));
  const next = async (): Promise<Datagram | null> => {
    if (queue.length === 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, timeoutMs);
      });
      clearTimeout(timer);
      wake = null;
    }
    return queue.shift() ?? null;
  };
  const done = (
    result: TftpResult["result"],
    bytes: number,
    sha256: string | null,
    message: string | null,
  ): TftpResult => ({
    file: o.file,
    result,
    bytes,
    sha256,
    message,
    ms: Math.round(performance.now() - t0),
  });
  try {
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    let expect = 1;
    let peer: number | null = null;
    let last = { packet: tftpRrq(o.file), port: 69 };
    await send(last.packet, last.port);
    for (let tries = 0; tries <= retries;) {
      const d = await next();
      if (!d) {
        tries++;
        await send(last.packet, last.port);
        continue;
      }
      if (d.address !== o.server || (peer !== null && d.port !== peer)) continue;
      const t = readTftp(d.msg);
      if (!t) continue;
      if (t.op === "error") {
        return done(t.code === 1 ? "not_found" : "error", bytes, null, t.message);
      }
      if (t.op !== "data") continue;
      peer ??= d.port;
      if (t.block !== (expect & 0xffff)) {
        if (t.block === ((expect - 1) & 0xffff)) await send(last.packet, last.port); // dup
        continue;
      }
      tries = 0;
      if (o.probe) {
        await send(tftpError(0, "probe done"), peer);
        return done("exists", t.data.length, null, null);
      }
      chunks.push(t.data.slice());
      bytes += t.data.length;
      last = { packet: tftpAck(t.block), port: peer };
      await send(last.packet, last.port);
      if (t.data.length < TFTP_BLOCK) {
        const all = new Uint8Array(bytes);
        let at = 0;
        for (const c of chunks) {
          all.set(c, at);
          at += c.length;
        }
        const hex = await sha256Hex(all);
        return { ...done("ok", bytes, hex, null), ...(o.keep ? { data: all } : {}) };
      }
      expect++;
    }
    return done("timeout", bytes, null, null);
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
}
