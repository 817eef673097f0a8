/**
 * The bay LED as a kernel LED class device (`/sys/class/leds/bay`, made by the device tree's
 * `gpio-leds` node: on a Pi the firmware's `dtoverlay=gpio-led,gpio=21,label=bay,…`), and the
 * probe that says whether the kernel LED engine can drive it. Reads and writes are synchronous:
 * sysfs attributes answer at once, and an async file op would cost the event loop a wake-up.
 */
import { cString, errno, libc, O_CLOEXEC, O_WRONLY, OsError, strerror } from "../../shared/libc.ts";

/** Attribute access of one LED class device (real: sysfs files; tests: a model of the kernel). */
export interface LedClassDevice {
  /** The device's directory, for messages. */
  readonly path: string;
  /** Reads an attribute (e.g. `trigger`); throws when it does not exist. */
  read(attr: string): string;
  /** Writes an attribute as the kernel's `store` sees it; throws on EINVAL, ENOENT, EACCES. */
  write(attr: string, value: string): void;
  /** Lets go of whatever the writes hold open (the device may be written again after). */
  close?(): void;
}

/** The LED's name in /sys/class/leds (the overlay's `label=bay`). */
export const BAY_LED_NAME = "bay";

/**
 * A LED class device under a sysfs root. The attributes written over and over (`repeat`: the
 * kernel engine restarts the pattern once a second) are kept open and written with `pwrite` at
 * offset 0, one system call where an open, a write and a close cost three and a path walk; a
 * write that fails drops its descriptor, so the next one opens the file afresh. Others (the
 * pattern, on a mode change) are opened and truncated each time, as `echo >` does.
 */
export class SysfsLedClass implements LedClassDevice {
  readonly #keep: ReadonlySet<string>;
  readonly #fds = new Map<string, number>();

  /** `keep`: the attributes written through a kept descriptor. */
  constructor(readonly path: string, keep: readonly string[] = ["repeat"]) {
    this.#keep = new Set(keep);
  }

  read(attr: string): string {
    return Deno.readTextFileSync(`${this.path}/${attr}`);
  }

  write(attr: string, value: string): void {
    if (!this.#keep.has(attr)) {
      return Deno.writeTextFileSync(`${this.path}/${attr}`, value, { create: false });
    }
    const c = libc();
    let fd = this.#fds.get(attr);
    if (fd === undefined) {
      fd = c.open(cString(`${this.path}/${attr}`), O_WRONLY | O_CLOEXEC);
      if (fd < 0) throw this.#failed("open", attr, errno());
      this.#fds.set(attr, fd);
    }
    const bytes = utf8.encode(value);
    const n = Number(c.pwrite(fd, bytes, BigInt(bytes.length), 0n));
    if (n === bytes.length) return;
    const code = n < 0 ? errno() : 0;
    c.close(fd);
    this.#fds.delete(attr);
    throw code === 0
      ? new Error(`${this.path}/${attr}: wrote ${n} of ${bytes.length} bytes`)
      : this.#failed("write", attr, code);
  }

  close(): void {
    for (const fd of this.#fds.values()) libc().close(fd);
    this.#fds.clear();
  }

  #failed(call: string, attr: string, code: number): OsError {
    return new OsError(call, code, `${call} ${this.path}/${attr}: ${strerror(code)}`);
  }
}

const utf8 = new TextEncoder();

/** The trigger the `trigger` attribute lists as selected (`[pattern]`), or undefined. */
export function selectedTrigger(list: string): string | undefined {
  return /\[([^\]]+)\]/.exec(list)?.[1];
}

/** What {@link probeKernelLed} found. */
export type KernelLedProbe =
  | { readonly ok: true; readonly led: LedClassDevice }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether the kernel can run the bay LED's patterns: the LED exists, lists the `pattern`
 * trigger (ledtrig-pattern loaded), and the agent may select it and write `pattern` and
 * `repeat`. Selects the trigger when another one is active (the unit's `ExecStartPre` does it
 * as root and hands the files to the gpio group). Never throws.
 */
export function probeKernelLed(led: LedClassDevice): KernelLedProbe {
  let list: string;
  try {
    list = led.read("trigger");
  } catch (e) {
    return { ok: false, reason: `no bay LED node (${led.path}: ${(e as Error).message})` };
  }
  const names = list.replace(/[[\]]/g, "").split(/\s+/).filter((n) => n !== "");
  if (!names.includes("pattern")) {
    return { ok: false, reason: `${led.path} has no pattern trigger (load ledtrig-pattern)` };
  }
  try {
    if (selectedTrigger(list) !== "pattern") led.write("trigger", "pattern");
    led.read("repeat");
    // An empty pattern is refused (EINVAL) before it can run: a real write proves access.
    led.write("pattern", "0 1000 0 0\n");
    return { ok: true, led };
  } catch (e) {
    return {
      ok: false,
      reason: `cannot drive ${led.path}'s pattern trigger: ${(e as Error).message}`,
    };
  }
}
