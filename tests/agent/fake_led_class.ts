/**
 * A model of a kernel LED class device (`/sys/class/leds/bay` of a `gpio-leds` node) for the
 * kernel LED engine's tests, close enough to the kernel that a wrong engine fails:
 *
 * - `trigger` lists the registered triggers with the active one in brackets; writing a name
 *   not registered is EINVAL; switching deactivates the old trigger (its files go, the LED
 *   goes dark) and activates the new one;
 * - `delay_on` / `delay_off` exist only while `timer` is active; `pattern` and `repeat` only
 *   while `pattern` is (ledtrig-pattern); anything else is ENOENT;
 * - `pattern` takes `brightness duration` pairs (brightness ≤ max_brightness, at least two
 *   tuples, else EINVAL) and starts at once; `repeat` takes -1 or a count ≥ 1 (0 and below -1
 *   are EINVAL) and restarts the pattern from its first tuple; writing `pattern` keeps the
 *   repeat count left, so a pattern whose repeats ran out does not run again until `repeat`
 *   is written;
 * - the pattern runs as ledtrig-pattern's timer function does, on jiffies at HZ=250, each step
 *   re-armed relative to now and rounded up by the timer wheel (8-jiffy granularity from 64
 *   jiffies on): equal neighbours are a step, a zero-length tuple is skipped, different
 *   neighbours ramp every 50 ms; the LED keeps the last level once the repeats ran out;
 * - brightness 0 written to `brightness` removes the trigger, as the LED core does;
 * - `readOnly` attributes throw PermissionDenied (root's files before the unit hands them over).
 * Every level change is logged as `{at, value}` with the clock's time.
 */
import type { Clock } from "../../shared/clock.ts";
import type { LedClassDevice } from "../../node-agent/led/led_class.ts";

const HZ = 250;
const UPDATE_INTERVAL = 50;

function einval(what: string): Error {
  return new Error(`Invalid argument (os error 22): ${what}`);
}

/** One tuple of a pattern. */
interface Tuple {
  brightness: number;
  deltaT: number;
}

/** The kernel's LED class device, modelled. */
export class FakeLedClass implements LedClassDevice {
  readonly path = "/sys/class/leds/bay";
  readonly maxBrightness = 1;
  /** Level changes, in clock time. */
  readonly edges: { at: number; value: number }[] = [];
  /** Attributes a write to which is refused (permissions). */
  readonly readOnly = new Set<string>();
  /** Writes seen, in order, as `attr=value` (tests check what the engine did). */
  readonly writes: { at: number; attr: string; value: string }[] = [];
  #triggers: string[];
  #trigger = "none";
  #brightness = 0;
  #delayOn = 500;
  #delayOff = 500;
  // ledtrig-pattern's state
  #patterns: Tuple[] = [];
  #curr = 0;
  #next = 1;
  #repeat = 0;
  #lastRepeat = -1;
  #indefinite = true;
  #deltaT = 0;
  #timer: AbortController | undefined;
  #jiffiesBase: number;

  constructor(
    readonly clock: Clock,
    triggers = ["none", "timer", "oneshot", "heartbeat", "pattern", "default-on"],
  ) {
    this.#triggers = triggers;
    this.#jiffiesBase = clock.now();
  }

  /** The level now. */
  get brightness(): number {
    return this.#brightness;
  }

  /** Whether a pattern timer is pending. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  #attrs(): string[] {
    const base = ["brightness", "max_brightness", "trigger"];
    if (this.#trigger === "timer") return [...base, "delay_on", "delay_off"];
    if (this.#trigger === "pattern") return [...base, "pattern", "repeat"];
    return base;
  }

  #exists(attr: string): void {
    if (!this.#attrs().includes(attr)) {
      throw new Deno.errors.NotFound(
        `No such file or directory (os error 2): ${this.path}/${attr}`,
      );
    }
  }

  read(attr: string): string {
    this.#exists(attr);
    switch (attr) {
      case "trigger":
        return this.#triggers.map((t) => (t === this.#trigger ? `[${t}]` : t)).join(" ") + "\n";
      case "brightness":
        return `${this.#brightness}\n`;
      case "max_brightness":
        return `${this.maxBrightness}\n`;
      case "delay_on":
        return `${this.#delayOn}\n`;
      case "delay_off":
        return `${this.#delayOff}\n`;
      case "repeat":
        return `${this.#lastRepeat}\n`;
      default: // pattern
        return this.#patterns.map((p) => `${p.brightness} ${p.deltaT}`).join(" ") + "\n";
    }
  }

  write(attr: string, value: string): void {
    this.#exists(attr);
    if (this.readOnly.has(attr) || attr === "max_brightness") {
      throw new Deno.errors.PermissionDenied(`Permission denied (os error 13): ${attr}`);
    }
    this.writes.push({ at: this.clock.now(), attr, value });
    const text = value.trim();
    switch (attr) {
      case "trigger":
        return this.#setTrigger(text);
      case "brightness": {
        const b = Number(text);
        if (!/^[0-9]+$/.test(text)) throw einval(text);
        if (b === 0) this.#setTrigger("none");
        return this.#set(Math.min(b, this.maxBrightness));
      }
      case "delay_on":
      case "delay_off":
        if (!/^[0-9]+$/.test(text)) throw einval(text);
        if (attr === "delay_on") this.#delayOn = Number(text);
        else this.#delayOff = Number(text);
        return;
      case "repeat": {
        if (!/^-?[0-9]+$/.test(text)) throw einval(text);
        const r = Number(text);
        if (r < -1 || r === 0) throw einval(text);
        this.#stopTimer();
        this.#repeat = this.#lastRepeat = r;
        this.#indefinite = r === -1;
        return this.#startPattern();
      }
      default: { // pattern
        this.#stopTimer();
        const nums = text.split(/\s+/).filter((x) => x !== "").map(Number);
        this.#patterns = [];
        if (nums.length % 2 !== 0 || nums.some((n) => !Number.isInteger(n) || n < 0)) {
          throw einval(text);
        }
        for (let i = 0; i < nums.length; i += 2) {
          if (nums[i] > this.maxBrightness) {
            this.#patterns = [];
            throw einval(text);
          }
          this.#patterns.push({ brightness: nums[i], deltaT: nums[i + 1] });
        }
        return this.#startPattern();
      }
    }
  }

  #setTrigger(name: string): void {
    if (!this.#triggers.includes(name)) throw einval(name);
    if (name === this.#trigger) return;
    // deactivate: the old trigger's files go and the LED goes dark
    this.#stopTimer();
    this.#trigger = name;
    this.#set(0);
    if (name === "pattern") {
      this.#patterns = [];
      this.#indefinite = true;
      this.#repeat = 0;
      this.#lastRepeat = -1;
    }
  }

  #set(b: number): void {
    if (b === this.#brightness) return;
    this.#brightness = b;
    this.edges.push({ at: this.clock.now(), value: b });
  }

  #jiffies(): number {
    return Math.floor((this.clock.now() - this.#jiffiesBase) * HZ / 1000);
  }

  /** When a timer armed now for `j` jiffies fires (timer wheel: 8-jiffy steps from 64 on). */
  #expiry(j: number): number {
    const now = this.#jiffies();
    let at = now + j;
    if (j >= 64) at = (Math.floor(at / 8) + 1) * 8;
    return this.#jiffiesBase + at * 1000 / HZ;
  }

  #startPattern(): void {
    if (this.#patterns.length === 0) return;
    if (this.#patterns.length < 2) {
      this.#patterns = [];
      throw einval("a software pattern needs two tuples");
    }
    this.#deltaT = 0;
    this.#curr = 0;
    this.#next = 1;
    this.#arm(this.#expiry(0) + 1000 / HZ); // timer.expires = jiffies: the next tick
  }

  #stopTimer(): void {
    this.#timer?.abort();
    this.#timer = undefined;
  }

  #arm(at: number): void {
    const ac = new AbortController();
    this.#timer = ac;
    this.clock.sleepUntil(at, ac.signal).then(() => {
      if (ac.signal.aborted) return;
      this.#timer = undefined;
      this.#fire();
    });
  }

  #update(): void {
    this.#curr = this.#next;
    if (!this.#indefinite && this.#curr === 0) this.#repeat--;
    this.#next = this.#next === this.#patterns.length - 1 ? 0 : this.#next + 1;
    this.#deltaT = 0;
  }

  #fire(): void {
    const ms = (d: number) => Math.ceil(d * HZ / 1000);
    for (;;) {
      if (!this.#indefinite && this.#repeat === 0) return;
      const curr = this.#patterns[this.#curr];
      const next = this.#patterns[this.#next];
      if (curr.brightness === next.brightness) {
        this.#set(curr.brightness);
        this.#arm(this.#expiry(ms(curr.deltaT)));
        if (next.deltaT === 0) this.#update();
        this.#update();
      } else {
        if (this.#deltaT > curr.deltaT) {
          this.#update();
          continue;
        }
        const step = this.#deltaT === 0 || curr.deltaT < UPDATE_INTERVAL ? 0 : Math.floor(
          this.#deltaT * Math.abs(next.brightness - curr.brightness) / curr.deltaT,
        );
        this.#set(
          next.brightness > curr.brightness ? curr.brightness + step : curr.brightness - step,
        );
        this.#arm(this.#expiry(ms(UPDATE_INTERVAL)));
        this.#deltaT += UPDATE_INTERVAL;
      }
      return;
    }
  }
}
