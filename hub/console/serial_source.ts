/**
 * A console on a local serial device (`/dev/ttyUSB3`, `/dev/serial/by-path/…`, `/dev/ttyAMA0`).
 * Deno has no termios API, so the device is opened and set up through libc (shared/libc.ts):
 * `open(O_RDWR|O_NOCTTY|O_NONBLOCK)` (never the hub's controlling terminal: a hang-up on the
 * line must not signal the hub), `tcgetattr`, `cfmakeraw`, the line settings,
 * `cfsetispeed`/`cfsetospeed`, `tcsetattr`, then read back to check the kernel took them.
 * Reading waits in `poll()` on a worker thread (FFI `nonblocking`) for at most
 * `POLL_MS`, so a close never waits on a blocked read; the read itself is synchronous, so
 * `errno` is the read's own.
 */
import { ClusterError } from "../../shared/errors.ts";
import {
  errno,
  type Libc,
  libc as sharedLibc,
  LibcLoadError,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  strerror,
} from "../../shared/libc.ts";
import type { ConsoleChannel, ConsoleSource } from "./console_source.ts";
import {
  BAUD_CONSTANTS,
  baudOf,
  controlFlags,
  describeLine,
  type LineSettings,
  settingsOf,
} from "./line_settings.ts";

/** libc for the line; a `hardware_fault` saying why when it cannot be loaded. */
function libc(): Libc {
  try {
    return sharedLibc();
  } catch (e) {
    if (!(e instanceof LibcLoadError)) throw e;
    throw new ClusterError("hardware_fault", `serial consoles: ${e.message}`);
  }
}

// Linux (x86_64 and aarch64) constants.
const TCSANOW = 0;
const TCIOFLUSH = 2;
const EAGAIN = 11;
const EINTR = 4;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
/** glibc's `struct termios` is 60 bytes; c_cflag at 8, c_cc at 17 (VTIME 5, VMIN 6). */
const TERMIOS_BYTES = 64;
const CFLAG_OFFSET = 8;
const CC_OFFSET = 17;
const VTIME = 5;
const VMIN = 6;

/** Longest a read waits in poll() before looking whether the channel was closed, ms. */
export const POLL_MS = 200;
/** Longest a write waits for room in the line's output buffer, ms. */
const WRITE_TIMEOUT_MS = 5000;
const CHUNK = 4096;

/** The settings a device's line has now (termios read back). */
export function readLineSettings(fd: number): LineSettings {
  const t = new Uint8Array(TERMIOS_BYTES);
  if (libc().tcgetattr(fd, t) !== 0) throw new Error(`tcgetattr: ${strerror(errno())}`);
  const cflag = new DataView(t.buffer).getUint32(CFLAG_OFFSET, true);
  const speed = libc().cfgetospeed(t);
  return settingsOf(cflag, baudOf(speed) ?? -1);
}

/** Opens `path` and sets its line; returns the file descriptor. */
function openLine(path: string, settings: LineSettings): number {
  const c = libc();
  const fd = c.open(
    new TextEncoder().encode(`${path}\0`),
    O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
  );
  if (fd < 0) {
    const e = errno();
    const hint = e === 2 ? " (no such device: is the adapter plugged in?)" : "";
    throw new ClusterError("hardware_fault", `cannot open ${path}: ${strerror(e)}${hint}`);
  }
  try {
    const t = new Uint8Array(TERMIOS_BYTES);
    if (c.tcgetattr(fd, t) !== 0) {
      throw new ClusterError(
        "hardware_fault",
        `${path} is not a serial device (tcgetattr: ${strerror(errno())})`,
      );
    }
    c.cfmakeraw(t);
    const view = new DataView(t.buffer);
    view.setUint32(CFLAG_OFFSET, controlFlags(settings, view.getUint32(CFLAG_OFFSET, true)), true);
    t[CC_OFFSET + VMIN] = 1;
    t[CC_OFFSET + VTIME] = 0;
    const speed = BAUD_CONSTANTS[settings.baud];
    if (c.cfsetispeed(t, speed) !== 0 || c.cfsetospeed(t, speed) !== 0) {
      throw new ClusterError("hardware_fault", `${path}: cannot set ${settings.baud} baud`);
    }
    if (c.tcsetattr(fd, TCSANOW, t) !== 0) {
      throw new ClusterError(
        "hardware_fault",
        `cannot set ${path} to ${describeLine(settings)}: ${strerror(errno())}`,
      );
    }
    // tcsetattr succeeds when any one change took: read back and compare.
    const got = readLineSettings(fd);
    if (describeLine(got) !== describeLine(settings)) {
      throw new ClusterError(
        "hardware_fault",
        `${path} did not take ${describeLine(settings)} (reads back ${describeLine(got)})`,
      );
    }
    c.tcflush(fd, TCIOFLUSH);
    return fd;
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** One open serial line. */
class SerialChannel implements ConsoleChannel {
  readonly #fd: number;
  readonly #path: string;
  #closed = false;
  #fdClosed = false;
  /** poll() calls running on worker threads (a read's and a write's): the fd is closed only
   * once none is left. */
  #polling = 0;

  constructor(fd: number, path: string) {
    this.#fd = fd;
    this.#path = path;
  }

  /** Waits up to `ms` for `events`; returns the revents (0 on timeout). */
  async #poll(events: number, ms: number): Promise<number> {
    const pfd = new Uint8Array(8);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, this.#fd, true);
    v.setInt16(4, events, true);
    this.#polling++;
    let n: number;
    try {
      n = await libc().poll(pfd, 1n, ms);
    } finally {
      this.#polling--;
    }
    if (this.#closed && this.#polling === 0) this.#closeFd();
    return n > 0 ? v.getInt16(6, true) : 0;
  }

  async read(): Promise<Uint8Array | null> {
    const buf = new Uint8Array(CHUNK);
    while (!this.#closed) {
      const revents = await this.#poll(POLLIN, POLL_MS);
      if (this.#closed) return null;
      if (revents & POLLNVAL) throw new Error(`${this.#path}: the device went away`);
      if (revents === 0) continue;
      const n = Number(libc().read(this.#fd, buf, BigInt(buf.length)));
      if (n > 0) return buf.slice(0, n);
      if (n === 0) throw new Error(`${this.#path}: end of file (the device went away?)`);
      const e = errno();
      if (e === EAGAIN || e === EINTR) continue;
      throw new Error(`reading ${this.#path}: ${strerror(e)}`);
    }
    return null;
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    const deadline = Date.now() + WRITE_TIMEOUT_MS;
    while (off < data.length) {
      if (this.#closed) throw new Error(`${this.#path} is closed`);
      const part = data.slice(off);
      const n = Number(libc().write(this.#fd, part, BigInt(part.length)));
      if (n > 0) {
        off += n;
        continue;
      }
      const e = errno();
      if (n < 0 && e !== EAGAIN && e !== EINTR) {
        throw new Error(`writing ${this.#path}: ${strerror(e)}`);
      }
      if (Date.now() > deadline) throw new Error(`writing ${this.#path}: the line does not drain`);
      const revents = await this.#poll(POLLOUT, 100);
      if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
        throw new Error(`writing ${this.#path}: the line hung up`);
      }
    }
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    libc().close(this.#fd);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#polling === 0) this.#closeFd();
  }
}

/** A console on a serial device, opened with `settings`. */
export class SerialConsoleSource implements ConsoleSource {
  readonly kind = "serial";
  readonly describe: string;
  readonly #path: string;
  readonly #settings: LineSettings;

  constructor(path: string, settings: LineSettings) {
    this.#path = path;
    this.#settings = settings;
    this.describe = `${path} ${describeLine(settings)}`;
  }

  open(): Promise<ConsoleChannel> {
    // Synchronous libc calls; a ClusterError from openLine rejects the promise.
    return Promise.resolve().then(() =>
      new SerialChannel(openLine(this.#path, this.#settings), this.#path)
    );
  }
}
