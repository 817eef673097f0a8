/**
 * The one libc binding: the calls the GPIO character device, the I2C bus and the serial console
 * need, and the agent's sleeps between heartbeat passes, through `Deno.dlopen("libc.so.6")`.
 * Opened once, on first use (importing this module loads nothing, so code that never touches a
 * device needs no FFI). Calls are synchronous (except `poll`, which waits on a worker thread),
 * so `errno()` read right after a failed call is that call's. Linux only (x86_64 and aarch64 share these flags and struct layouts).
 * The socket calls serve the agent's heartbeat socket, which lives outside Deno's event loop
 * (`node-agent/sync_socket.ts`); `pwrite` its bay LED's kept-open attribute files
 * (`node-agent/led/led_class.ts`).
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  /** `ioctl` with an integer argument (I2C_SLAVE). */
  ioctl_ulong: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  /** `ioctl` with a pointer argument (GPIO uAPI structs, I2C_SMBUS). */
  ioctl_ptr: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** Waits on a worker thread, so a blocked wait never holds up the event loop. */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  tcsetattr: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  tcflush: { parameters: ["i32", "i32"], result: "i32" },
  cfmakeraw: { parameters: ["buffer"], result: "void" },
  cfsetispeed: { parameters: ["buffer", "u32"], result: "i32" },
  cfsetospeed: { parameters: ["buffer", "u32"], result: "i32" },
  cfgetospeed: { parameters: ["buffer"], result: "u32" },
  cfgetispeed: { parameters: ["buffer"], result: "u32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  /** Returns the error number itself (EINTR when a signal's handler ran), not -1 and errno. */
  clock_nanosleep: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** `open` flags (Linux). */
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** Socket constants (Linux, x86_64 and aarch64). */
export const AF_INET = 2;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;

/** `clock_nanosleep` clock (Linux). */
export const CLOCK_MONOTONIC = 1;

/** errno values (Linux). */
export const EINTR = 4;
export const EAGAIN = 11;
export const EPIPE = 32;
export const ECONNRESET = 104;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EINPROGRESS = 115;

/** A libc call failed: which call, its errno, and libc's text for it. */
export class OsError extends Error {
  /** The errno the call left (EAGAIN, ECONNRESET, …). */
  readonly errno: number;
  /** The call that failed ("connect", "recv", …). */
  readonly call: string;
  constructor(call: string, code: number, message = `${call}: ${strerror(code)}`) {
    super(message);
    this.name = "OsError";
    this.call = call;
    this.errno = code;
  }
}

/** libc cannot be loaded here; the message says why (not Linux, FFI not allowed, …). */
export class LibcLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LibcLoadError";
  }
}

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The libc symbols, loading libc on the first call; throws a {@link LibcLoadError}. */
export function libc(): Libc {
  if (!lib) {
    if (Deno.build.os !== "linux") {
      throw new LibcLoadError(`cannot load libc.so.6: this is ${Deno.build.os}, not Linux`);
    }
    try {
      lib = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (e) {
      throw new LibcLoadError(
        e instanceof Deno.errors.NotCapable
          ? "cannot load libc.so.6: FFI is not allowed; run with --allow-ffi (the hub and the agent are installed with --allow-all)"
          : `cannot load libc.so.6: ${(e as Error).message}`,
      );
    }
  }
  return lib.symbols;
}

/** The calling thread's `errno`, to be read right after a call returned -1. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** libc's text for `code` ("No such file or directory"). */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

const sleepSpec = new BigInt64Array(2);
const sleepSpecBytes = new Uint8Array(sleepSpec.buffer);

/**
 * Blocks the calling thread for `ms` milliseconds (`clock_nanosleep`, one wake-up when it
 * ends). A signal whose handler runs on this thread cuts it short: then it returns false.
 */
export function sleepThread(ms: number): boolean {
  if (!(ms > 0)) return true;
  const ns = BigInt(Math.round(ms * 1e6));
  sleepSpec[0] = ns / 1_000_000_000n;
  sleepSpec[1] = ns % 1_000_000_000n;
  return libc().clock_nanosleep(CLOCK_MONOTONIC, 0, sleepSpecBytes, null) !== EINTR;
}

/** A NUL-terminated C string. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`);
}
