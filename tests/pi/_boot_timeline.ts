/**
 * A netbooting node's boot timeline, seen from outside: while it runs, the guest's serial
 * console (a file) is read every half second, and the first appearance of each marker is
 * stamped with the time since power-on and the bytes through the guest's tap so far (what the
 * LAN sent it, what it sent). The guest's clock runs with the host's under QEMU, so these are
 * the guest's times too, to within the half-second poll.
 */

/** A phase boundary: the first console line that matches. */
export interface Marker {
  name: string;
  re: RegExp;
}

/** Where a marker was first seen. */
export interface Mark {
  name: string;
  /** Seconds since power-on. */
  at: number;
  /** Bytes the LAN sent the guest since power-on. */
  toGuest: number;
  /** Bytes the guest sent since power-on. */
  fromGuest: number;
}

/** Bytes through a guest's tap: to the guest, from it. */
export type TapBytes = () => Promise<{ toGuest: number; fromGuest: number }>;

/** Records {@link Mark}s until stopped. */
export class BootTimeline {
  readonly marks: Mark[] = [];
  #stop = false;
  #done: Promise<void>;

  /** Starts polling `consolePath` (from `t0` = power-on, with the tap counters then `base`). */
  constructor(
    consolePath: string,
    markers: Marker[],
    tap: TapBytes,
    t0: number,
    base: { toGuest: number; fromGuest: number },
  ) {
    this.#done = this.#poll(consolePath, markers, tap, t0, base);
  }

  async #poll(
    path: string,
    markers: Marker[],
    tap: TapBytes,
    t0: number,
    base: { toGuest: number; fromGuest: number },
  ): Promise<void> {
    const left = [...markers];
    while (!this.#stop && left.length) {
      const text = await Deno.readTextFile(path).catch(() => "");
      const seen = left.filter((m) => m.re.test(text));
      if (seen.length) {
        const b = await tap().catch(() => null);
        for (const m of seen) {
          left.splice(left.indexOf(m), 1);
          this.marks.push({
            name: m.name,
            at: (performance.now() - t0) / 1000,
            toGuest: b ? b.toGuest - base.toGuest : NaN,
            fromGuest: b ? b.fromGuest - base.fromGuest : NaN,
          });
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Adds a mark taken by the caller (e.g. the hub saying `running`). */
  async mark(
    name: string,
    tap: TapBytes,
    t0: number,
    base: { toGuest: number; fromGuest: number },
  ) {
    const b = await tap();
    this.marks.push({
      name,
      at: (performance.now() - t0) / 1000,
      toGuest: b.toGuest - base.toGuest,
      fromGuest: b.fromGuest - base.fromGuest,
    });
  }

  /** Stops polling (and waits for the poll to end). */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }

  /** One line per mark, in time order: time, phase length and the bytes of each phase. */
  report(): string[] {
    const sorted = [...this.marks].sort((a, b) => a.at - b.at);
    let prev: Mark = { name: "power-on", at: 0, toGuest: 0, fromGuest: 0 };
    return sorted.map((m) => {
      const line = `${m.at.toFixed(1).padStart(6)} s  ${m.name.padEnd(22)} +${
        (m.at - prev.at).toFixed(1)
      } s, LAN->node +${((m.toGuest - prev.toGuest) / 1e6).toFixed(2)} MB (total ${
        (m.toGuest / 1e6).toFixed(2)
      }), node->LAN +${((m.fromGuest - prev.fromGuest) / 1e6).toFixed(2)} MB`;
      prev = m;
      return line;
    });
  }
}
