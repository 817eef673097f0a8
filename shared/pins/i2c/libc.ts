/**
 * The few libc calls the I2C bus needs (`open`, `ioctl`, `read`, `write`, `close`, `errno`),
 * through `Deno.dlopen("libc.so.6")`. Loaded once, on first use. Calls are synchronous, so
 * `errno` read right after a failed call is that call's.
 */
import { HardwareFault } from "../errors.ts";

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl_ulong: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  ioctl_ptr: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The loaded libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** `O_RDWR | O_CLOEXEC` on Linux (x86_64 and aarch64). */
export const O_RDWR_CLOEXEC = 0x2 | 0x80000;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The libc symbols; throws a HardwareFault saying why when libc cannot be loaded. */
export function libc(): Libc {
  if (!lib) {
    if (Deno.build.os !== "linux") {
      throw new HardwareFault(`/dev/i2c-N needs Linux, not ${Deno.build.os}`);
    }
    try {
      lib = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (e) {
      const why = e instanceof Deno.errors.NotCapable
        ? "run the hub with --allow-ffi"
        : (e as Error).message;
      throw new HardwareFault(`cannot load libc.so.6 for I2C access: ${why}`);
    }
  }
  return lib.symbols;
}

/** The calling thread's `errno`, to be read right after a call returned -1. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** A NUL-terminated C string. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`);
}
