/**
 * The guest's view of the simulated hardware from OUTSIDE the product: gpio-sim's sysfs
 * attributes (the level on each line, its pull), busybox's i2cget/i2cset, and the kernel's
 * tracepoints (gpio_value, smbus_write) read from tracefs with kernel timestamps.
 */

/** The gpio-sim chip labelled pinctrl-bcm2835 (init.sh builds it). */
export interface SimChip {
  /** /sys/devices/platform/gpio-sim.N/gpiochipM */
  dir: string;
  /** /dev/gpiochipM */
  dev: string;
  /** Global GPIO number of line 0 (the sysfs numbering the tracepoint uses). */
  base: number;
}

/** Finds the gpio-sim chip and its global base. */
export function simChip(): SimChip {
  for (const p of Deno.readDirSync("/sys/devices/platform")) {
    if (!p.name.startsWith("gpio-sim.")) continue;
    const platform = `/sys/devices/platform/${p.name}`;
    for (const c of Deno.readDirSync(platform)) {
      if (!/^gpiochip[0-9]+$/.test(c.name)) continue;
      let base = -1;
      for (const g of Deno.readDirSync("/sys/class/gpio")) {
        if (!g.name.startsWith("gpiochip")) continue;
        const label = Deno.readTextFileSync(`/sys/class/gpio/${g.name}/label`).trim();
        if (label === "pinctrl-bcm2835") {
          base = Number(Deno.readTextFileSync(`/sys/class/gpio/${g.name}/base`));
        }
      }
      return { dir: `${platform}/${c.name}`, dev: `/dev/${c.name}`, base };
    }
  }
  throw new Error("no gpio-sim chip in sysfs");
}

/** The level gpio-sim sees on `line` (what the "board" gets). */
export function simValue(chip: SimChip, line: number): 0 | 1 {
  return Deno.readTextFileSync(`${chip.dir}/sim_gpio${line}/value`).trim() === "1" ? 1 : 0;
}

/** Sets gpio-sim's pull on `line` (drives an input line from the "board" side). */
export function setPull(chip: SimChip, line: number, up: boolean): void {
  Deno.writeTextFileSync(`${chip.dir}/sim_gpio${line}/pull`, up ? "pull-up" : "pull-down");
}

async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** busybox i2c tools read every number as hex. */
const hx = (n: number) => `0x${n.toString(16)}`;

/** Reads a register with busybox i2cget (outside the product). */
export async function i2cget(bus: number, addr: number, reg: number): Promise<number> {
  return Number(await sh("i2cget", "-y", String(bus), hx(addr), hx(reg)));
}

/** Writes a register with busybox i2cset (outside the product). */
export async function i2cset(bus: number, addr: number, reg: number, value: number): Promise<void> {
  await sh("i2cset", "-y", String(bus), hx(addr), hx(reg), hx(value));
}

const TR = "/sys/kernel/tracing";

/** Starts recording the named tracepoints ("gpio/gpio_value", "smbus/smbus_write"), cleared. */
export function traceStart(events: string[]): void {
  Deno.writeTextFileSync(`${TR}/buffer_size_kb`, "8192");
  for (const e of events) Deno.writeTextFileSync(`${TR}/events/${e}/enable`, "1");
  Deno.writeTextFileSync(`${TR}/trace`, "");
}

/** Stops every tracepoint and returns what was recorded. */
export function traceStop(): string {
  Deno.writeTextFileSync(`${TR}/events/enable`, "0");
  return Deno.readTextFileSync(`${TR}/trace`);
}

/** One `gpio_value ... set V` event: kernel time (ms), global GPIO, level. */
export interface GpioSet {
  t: number;
  gpio: number;
  value: 0 | 1;
}

/** The `set` events of a trace ("  deno-1 [001] ..... 45.123456: gpio_value: 533 set 1"). */
export function gpioSets(trace: string): GpioSet[] {
  const out: GpioSet[] = [];
  for (const l of trace.split("\n")) {
    const m = l.match(/ ([0-9.]+): gpio_value: ([0-9]+) set ([01])/);
    if (m) out.push({ t: Number(m[1]) * 1000, gpio: Number(m[2]), value: Number(m[3]) as 0 | 1 });
  }
  return out;
}

/** One smbus_write event: kernel time (ms), address, register, byte written. */
export interface SmbusWrite {
  t: number;
  addr: number;
  reg: number;
  value: number;
}

/** The byte-data writes of a trace ("smbus_write: i2c-0 a=020 f=0000 c=14 BYTE_DATA l=1 [08]"). */
export function smbusWrites(trace: string): SmbusWrite[] {
  const out: SmbusWrite[] = [];
  for (const l of trace.split("\n")) {
    const m = l.match(
      / ([0-9.]+): smbus_write: i2c-\d+ a=([0-9a-f]+) f=\S+ c=([0-9a-f]+) BYTE_DATA l=1 \[([0-9a-f]+)\]/,
    );
    if (m) {
      out.push({
        t: Number(m[1]) * 1000,
        addr: parseInt(m[2], 16),
        reg: parseInt(m[3], 16),
        value: parseInt(m[4], 16),
      });
    }
  }
  return out;
}

/** Runs of one level between changes, from a line's set events: [level, start, duration]. */
export function runs(sets: GpioSet[]): { value: 0 | 1; at: number; ms: number }[] {
  const changes = sets.filter((e, i) => i === 0 || e.value !== sets[i - 1].value);
  return changes.slice(0, -1).map((e, i) => ({
    value: e.value,
    at: e.t,
    ms: changes[i + 1].t - e.t,
  }));
}

/**
 * True if durations sit near `want` with the loose tolerance TCG on a shared 2-core host
 * needs: median within `median` ms, and 75 % of them within `spread` ms.
 */
export function near(durations: number[], want: number, median = 15, spread = 30): boolean {
  const v = [...durations].sort((a, b) => a - b);
  if (v.length < 3) return false;
  const med = v[Math.floor(v.length / 2)];
  return Math.abs(med - want) <= median &&
    v.filter((d) => Math.abs(d - want) <= spread).length >= 0.75 * v.length;
}
