/**
 * WebSocket message assembly, bounded at the TCP gate. Deno's WebSocket (`Deno.upgradeWebSocket`)
 * joins a fragmented message (a data frame without FIN, then continuation frames) in memory
 * with no limit of its own but 64 MiB per frame: continuation frames that never finish can grow the
 * hub past 1 GiB. The gate sees every byte a client sends through a WebSocket, so it reads the
 * frame headers there (the payloads only pass) and closes a socket whose message:
 *
 * - grows past `maxMessageBytes`, whether one frame or many (the declared length is checked at
 *   the frame's header, before its payload is let through): close 1009 "message too big";
 * - is begun and not finished within `messageDeadlineMs`: close 1008.
 *
 * `assemblyBytes` is what the hub holds of the unfinished message: the per-socket memory
 * figure (`/metrics`: `cluster_ws_assembly_bytes`). Pure: bytes and time in, verdicts out.
 */

/** Limits of message assembly. */
export interface WsGuardLimits {
  /** Largest message, bytes, single frame or all its fragments together. */
  maxMessageBytes: number;
  /** A message begun must end within this, ms. */
  messageDeadlineMs: number;
}

/**
 * Defaults: 192 KiB (the WebSocket interface refuses messages over 64 Ki characters, which is
 * at most 192 KiB of UTF-8) and 10 s (as long as a whole HTTP request may take).
 */
export const DEFAULT_WS_GUARD: WsGuardLimits = {
  maxMessageBytes: 192 * 1024,
  messageDeadlineMs: 10_000,
};

/** Why a socket is closed, as the close frame says it. */
export interface WsViolation {
  code: 1008 | 1009 | 1002;
  reason: string;
}

/** A frame header as read off the wire. */
export interface FrameHeader {
  fin: boolean;
  opcode: number;
  length: number;
}

/**
 * Reads frame boundaries from a byte stream: headers are parsed, payloads skipped. Knows
 * whether the stream stands between two frames (where a close frame may be inserted).
 */
export class FrameReader {
  readonly #head = new Uint8Array(14);
  #headLen = 0;
  #payloadLeft = 0;
  /** Called for each header as it completes; return a violation to stop reading. */
  onHeader: (h: FrameHeader) => WsViolation | null = () => null;
  /** Called with the count of payload bytes passing, and whether the frame ended. */
  onPayload: (n: number, frameEnded: boolean) => void = () => {};

  /** True between frames. */
  get atBoundary(): boolean {
    return this.#headLen === 0 && this.#payloadLeft === 0;
  }

  /** Reads `chunk`; stops at the first violation and returns it. */
  push(chunk: Uint8Array): WsViolation | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#payloadLeft > 0) {
        const n = Math.min(this.#payloadLeft, chunk.length - i);
        this.#payloadLeft -= n;
        i += n;
        this.onPayload(n, this.#payloadLeft === 0);
        continue;
      }
      this.#head[this.#headLen++] = chunk[i++];
      const need = headerLength(this.#head, this.#headLen);
      if (need === null || this.#headLen < need) continue;
      const header = parseHeader(this.#head);
      this.#headLen = 0;
      if (header === null) return { code: 1009, reason: "frame longer than 2^53 bytes" };
      const refused = this.onHeader(header);
      if (refused) return refused;
      this.#payloadLeft = header.length;
      if (header.length === 0) this.onPayload(0, true);
    }
    return null;
  }
}

/** The full header length once its first two bytes are in, else null. */
function headerLength(head: Uint8Array, have: number): number | null {
  if (have < 2) return null;
  const len7 = head[1] & 0x7f;
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  return 2 + ext + ((head[1] & 0x80) ? 4 : 0);
}

function parseHeader(head: Uint8Array): FrameHeader | null {
  const fin = (head[0] & 0x80) !== 0;
  const opcode = head[0] & 0x0f;
  const len7 = head[1] & 0x7f;
  let length = len7;
  if (len7 === 126) length = (head[2] << 8) | head[3];
  else if (len7 === 127) {
    const high = ((head[2] << 24) >>> 0) + (head[3] << 16) + (head[4] << 8) + head[5];
    const low = ((head[6] << 24) >>> 0) + (head[7] << 16) + (head[8] << 8) + head[9];
    if (high > 0x1fffff) return null;
    length = high * 2 ** 32 + low;
  }
  return { fin, opcode, length };
}

/** One WebSocket's incoming messages, as the gate watches them. */
export class WsMessageGuard {
  readonly #limits: WsGuardLimits;
  readonly #reader = new FrameReader();
  /** A data message is being received (its first frame's header seen, its end not yet). */
  #inMessage = false;
  /** Its last frame has FIN: the message ends with that frame's payload. */
  #finalFrame = false;
  /** Bytes declared by the message's frames so far. */
  #declared = 0;
  #startedAt = 0;
  #now = 0;
  /** Payload bytes of the unfinished message received so far. */
  assemblyBytes = 0;

  /** The frame being read is a control frame (not part of the message). */
  #controlFrame = false;

  constructor(limits: WsGuardLimits = DEFAULT_WS_GUARD) {
    this.#limits = limits;
    this.#reader.onHeader = (h) => this.#header(h);
    this.#reader.onPayload = (n, ended) => {
      if (!this.#inMessage || this.#controlFrame) return;
      this.assemblyBytes += n;
      if (ended && this.#finalFrame) {
        this.#inMessage = false;
        this.assemblyBytes = 0;
        this.#declared = 0;
      }
    };
  }

  #header(h: FrameHeader): WsViolation | null {
    this.#controlFrame = h.opcode >= 8;
    if (this.#controlFrame) {
      // Ping, pong, close: at most 125 bytes, never fragmented (RFC 6455 5.5).
      return h.length > 125 || !h.fin
        ? { code: 1002, reason: "control frame over 125 bytes or fragmented" }
        : null;
    }
    if (h.opcode === 0) {
      if (!this.#inMessage) return { code: 1002, reason: "continuation frame without a message" };
    } else {
      if (this.#inMessage) return { code: 1002, reason: "new message before the last one ended" };
      this.#inMessage = true;
      this.#startedAt = this.#now;
      this.#declared = 0;
      this.assemblyBytes = 0;
    }
    this.#declared += h.length;
    this.#finalFrame = h.fin;
    if (this.#declared > this.#limits.maxMessageBytes) {
      return {
        code: 1009,
        reason: `message over ${Math.round(this.#limits.maxMessageBytes / 1024)} KiB`,
      };
    }
    if (h.length === 0 && h.fin) {
      this.#inMessage = false;
      this.assemblyBytes = 0;
      this.#declared = 0;
    }
    return null;
  }

  /** Bytes from the client at time `now`; a violation means: close the socket. */
  fromClient(chunk: Uint8Array, now: number): WsViolation | null {
    this.#now = now;
    return this.#reader.push(chunk);
  }

  /** True while a message has begun and not ended. */
  get assembling(): boolean {
    return this.#inMessage;
  }

  /** A violation if the message under way has taken too long, at `now`. */
  overdue(now: number): WsViolation | null {
    if (!this.#inMessage || now - this.#startedAt <= this.#limits.messageDeadlineMs) return null;
    return {
      code: 1008,
      reason: `message not finished within ${Math.round(this.#limits.messageDeadlineMs / 1000)} s`,
    };
  }
}

/** A server-to-client close frame (unmasked) with `code` and `reason`. */
export function closeFrame(v: WsViolation): Uint8Array {
  const reason = new TextEncoder().encode(v.reason).subarray(0, 123);
  const frame = new Uint8Array(4 + reason.length);
  frame[0] = 0x88;
  frame[1] = 2 + reason.length;
  frame[2] = v.code >> 8;
  frame[3] = v.code & 0xff;
  frame.set(reason, 4);
  return frame;
}
