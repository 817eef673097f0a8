/** WebSocket frames as a client writes them (masked), and a raw client handshake, for tests. */

/** A masked client frame; `fin` false for a fragment, opcode 0 for a continuation. */
export function clientFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + ext + 4 + len);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (ext === 0) frame[1] = 0x80 | len;
  else if (ext === 2) {
    frame[1] = 0x80 | 126;
    frame[2] = len >> 8;
    frame[3] = len & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    const view = new DataView(frame.buffer);
    view.setUint32(2, Math.floor(len / 2 ** 32));
    view.setUint32(6, len >>> 0);
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, 2 + ext);
  const off = 2 + ext + 4;
  for (let i = 0; i < len; i++) frame[off + i] = payload[i] ^ mask[i & 3];
  return frame;
}

/** Opens a raw WebSocket to `path` on `port` (127.0.0.1); resolves after the 101. */
export async function rawWebSocket(port: number, path: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(
    new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  let head = "";
  const buf = new Uint8Array(4096);
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed during the handshake: ${head}`);
    head += new TextDecoder().decode(buf.subarray(0, n));
  }
  if (!head.startsWith("HTTP/1.1 101")) throw new Error(`no upgrade: ${head}`);
  return conn;
}

/** Reads from `conn` until it ends; returns the close frame's code, if one came. */
export async function readUntilClosed(conn: Deno.TcpConn): Promise<number | null> {
  const bytes: number[] = [];
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      n = null;
    }
    if (n === null) break;
    bytes.push(...buf.subarray(0, n));
  }
  // Walk the server's (unmasked) frames to the close frame.
  let i = 0;
  while (i + 2 <= bytes.length) {
    const opcode = bytes[i] & 0x0f;
    let len = bytes[i + 1] & 0x7f, off = i + 2;
    if (len === 126) [len, off] = [(bytes[i + 2] << 8) | bytes[i + 3], i + 4];
    else if (len === 127) return null;
    if (opcode === 8 && len >= 2) return (bytes[off] << 8) | bytes[off + 1];
    i = off + len;
  }
  return null;
}
