/**
 * A model of the kernel's sysfs GPIO interface over a real temporary tree, for tests of the
 * sysfs backend. Reads go to the files; writes to the attribute files go through the model,
 * which enforces what the kernel does:
 *  - `export` takes a global line number that some chip provides (else EINVAL) and that is
 *    not already exported (else EBUSY), and creates `gpioN/` with direction "in", value 0;
 *  - the new files are root-only until "udev" has run (`udevDelayWrites` denied writes);
 *  - `direction` accepts in / out / low / high (else EINVAL);
 *  - `value` can only be written while the direction is out (else EPERM);
 *  - `unexport` removes `gpioN/` (EINVAL if not exported).
 * Every value write is logged, as the edge log of the simulated line would be.
 */
import type { SysfsIo } from "../../shared/pins/sysfs.ts";
import { denoSysfsIo } from "../../shared/pins/sysfs.ts";

/** One GPIO controller. */
export interface FakeChip {
  /** gpiochipN name suffix is the base, as on a real kernel. */
  base: number;
  ngpio: number;
  label: string;
}

/** The Pi 3/3B+ layout of kernels before 6.6: main chip at 0, firmware expander after it. */
export const LEGACY_CHIPS: FakeChip[] = [
  { base: 0, ngpio: 54, label: "pinctrl-bcm2835" },
  { base: 504, ngpio: 8, label: "raspberrypi-exp-gpio" },
];

/** The layout of kernels ≥ 6.6 (Pi 4): dynamic numbering from 512. */
export const KERNEL_6_6_CHIPS: FakeChip[] = [
  { base: 512, ngpio: 58, label: "pinctrl-bcm2711" },
  { base: 570, ngpio: 8, label: "raspberrypi-exp-gpio" },
];

function oserr(name: string, errno: number): Error {
  return new Error(`${name} (os error ${errno})`);
}

/** The kernel model; use `io` as the backend's SysfsIo. */
export class FakeSysfsKernel {
  readonly root: string;
  readonly gpioDir: string;
  /** Every accepted value write: global line and level. */
  readonly valueWrites: { line: number; value: 0 | 1 }[] = [];
  /** Writes to a freshly exported line's files that fail with PermissionDenied (udev lag). */
  udevDelayWrites = 0;
  #pendingUdev = new Map<number, number>();
  readonly #chips: FakeChip[];

  private constructor(root: string, chips: FakeChip[]) {
    this.root = root;
    this.gpioDir = `${root}/class/gpio`;
    this.#chips = chips;
  }

  /** Builds the tree under a new temporary directory. */
  static async create(chips: FakeChip[]): Promise<FakeSysfsKernel> {
    const root = await Deno.makeTempDir({ prefix: "fake-sysfs-" });
    const k = new FakeSysfsKernel(root, chips);
    await Deno.mkdir(k.gpioDir, { recursive: true });
    await Deno.writeTextFile(`${k.gpioDir}/export`, "");
    await Deno.writeTextFile(`${k.gpioDir}/unexport`, "");
    for (const c of chips) {
      const dir = `${k.gpioDir}/gpiochip${c.base}`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/base`, `${c.base}\n`);
      await Deno.writeTextFile(`${dir}/ngpio`, `${c.ngpio}\n`);
      await Deno.writeTextFile(`${dir}/label`, `${c.label}\n`);
    }
    return k;
  }

  /** Removes the tree. */
  async dispose(): Promise<void> {
    await Deno.remove(this.root, { recursive: true });
  }

  /** Current contents of a line's attribute, or undefined if not exported. */
  async attr(line: number, name: "direction" | "value"): Promise<string | undefined> {
    try {
      return (await Deno.readTextFile(`${this.gpioDir}/gpio${line}/${name}`)).trim();
    } catch {
      return undefined;
    }
  }

  /** The SysfsIo the backend should use. */
  get io(): SysfsIo {
    return {
      readText: (p) => denoSysfsIo.readText(p),
      exists: (p) => denoSysfsIo.exists(p),
      readDir: (p) => denoSysfsIo.readDir(p),
      writeText: (p, t) => this.#write(p, t),
    };
  }

  #valid(line: number): boolean {
    return this.#chips.some((c) => line >= c.base && line < c.base + c.ngpio);
  }

  async #write(path: string, text: string): Promise<void> {
    const t = text.trim();
    if (path === `${this.gpioDir}/export`) {
      const n = Number(t);
      if (!/^[0-9]+$/.test(t) || !this.#valid(n)) throw oserr("Invalid argument", 22);
      const dir = `${this.gpioDir}/gpio${n}`;
      if (await denoSysfsIo.exists(dir)) throw oserr("Device or resource busy", 16);
      await Deno.mkdir(dir);
      await Deno.writeTextFile(`${dir}/direction`, "in\n");
      await Deno.writeTextFile(`${dir}/value`, "0\n");
      this.#pendingUdev.set(n, this.udevDelayWrites);
      return;
    }
    if (path === `${this.gpioDir}/unexport`) {
      const n = Number(t);
      const dir = `${this.gpioDir}/gpio${n}`;
      if (!(await denoSysfsIo.exists(dir))) throw oserr("Invalid argument", 22);
      await Deno.remove(dir, { recursive: true });
      return;
    }
    const m = path.match(/\/gpio([0-9]+)\/(direction|value)$/);
    if (!m || !path.startsWith(this.gpioDir)) {
      throw new Deno.errors.NotFound(`no such attribute: ${path}`);
    }
    const line = Number(m[1]);
    if (!(await denoSysfsIo.exists(`${this.gpioDir}/gpio${line}`))) {
      throw new Deno.errors.NotFound(`No such file or directory: ${path}`);
    }
    const pending = this.#pendingUdev.get(line) ?? 0;
    if (pending > 0) {
      this.#pendingUdev.set(line, pending - 1);
      throw new Deno.errors.PermissionDenied(`Permission denied (os error 13): ${path}`);
    }
    const dir = `${this.gpioDir}/gpio${line}`;
    if (m[2] === "direction") {
      if (!["in", "out", "low", "high"].includes(t)) throw oserr("Invalid argument", 22);
      await Deno.writeTextFile(`${dir}/direction`, t === "in" ? "in\n" : "out\n");
      if (t !== "in") await Deno.writeTextFile(`${dir}/value`, t === "high" ? "1\n" : "0\n");
      return;
    }
    const direction = (await Deno.readTextFile(`${dir}/direction`)).trim();
    if (direction !== "out") throw oserr("Operation not permitted", 1);
    if (!/^[0-9]+$/.test(t)) throw oserr("Invalid argument", 22);
    const value = t === "0" ? 0 : 1;
    await Deno.writeTextFile(`${dir}/value`, `${value}\n`);
    this.valueWrites.push({ line, value });
  }
}
