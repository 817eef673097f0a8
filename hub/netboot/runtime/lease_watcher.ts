/**
 * The I/O side of MAC learning: tails the file our dhcp-script hook appends to and feeds
 * every complete line through the learner. Polls with the {@link Clock} seam.
 */
import { open, stat } from "node:fs/promises";
import type { NodeMap } from "../../../shared/node_map.ts";
import type { Clock } from "../../../shared/clock.ts";
import {
  applyDecision,
  decideLease,
  type EventSink,
  type LearnDecision,
  type LearningRange,
  type LearningTarget,
  type MacTable,
} from "./mac_learner.ts";
import { parseHookLine } from "./leases.ts";

/** What the watcher needs. */
export interface LeaseWatcherDeps {
  map: NodeMap;
  /** File the dhcp-script hook appends to. */
  eventsFile: string;
  table: MacTable;
  emit: EventSink;
  /** The bay currently waiting to be learned (set by the control plane when it powers one). */
  target: () => LearningTarget | null;
  clock: Clock;
  /** Called after a MAC was learned (e.g. to re-render dhcp-hosts and SIGHUP dnsmasq). */
  onLearned?: (node: number, mac: string) => void | Promise<void>;
  /** Poll interval, ms (default 500). */
  pollMs?: number;
  /** The learning range's last octets: `old` events there may learn (see `decideLease`). */
  learningRange?: LearningRange | null;
  /** Read the file from its start instead of its current end (default false). */
  fromStart?: boolean;
}

/** How many unknown MACs are remembered; the least recently seen are forgotten first. */
export const MAX_UNKNOWN = 256;

/** Unknown MACs seen recently (newest last, at most {@link MAX_UNKNOWN}), for `GET /macs`. */
export interface UnknownMac {
  mac: string;
  ip: string;
  at: number;
  reason: string;
}

/** Tails the hook's events file. */
export class LeaseWatcher {
  readonly #d: LeaseWatcherDeps;
  #offset = -1;
  #partial = "";
  #polling: Promise<unknown> = Promise.resolve();
  #abort: AbortController | null = null;
  #loop: Promise<void> | null = null;
  readonly #unknown = new Map<string, UnknownMac>();
  /** Every decision taken, newest last (capped at 200), for diagnostics. */
  readonly decisions: LearnDecision[] = [];

  constructor(deps: LeaseWatcherDeps) {
    this.#d = deps;
  }

  /** MACs that asked for a lease but belong to no bay. */
  unknownMacs(): UnknownMac[] {
    return [...this.#unknown.values()];
  }

  /**
   * Reads whatever was appended since the last call and processes complete lines. Calls
   * are serialized, so the polling loop and an on-demand poll never read a line twice.
   */
  poll(): Promise<LearnDecision[]> {
    const next = this.#polling.then(() => this.#poll());
    this.#polling = next.catch(() => {});
    return next;
  }

  async #poll(): Promise<LearnDecision[]> {
    const size = await stat(this.#d.eventsFile).then((s) => s.size).catch(() => null);
    if (size === null) {
      // Not there yet: whatever appears later is new.
      if (this.#offset < 0) this.#offset = 0;
      return [];
    }
    if (this.#offset < 0) this.#offset = this.#d.fromStart ? 0 : size;
    if (size < this.#offset) {
      this.#offset = 0; // truncated or rotated: start over
      this.#partial = "";
    }
    if (size === this.#offset) return [];
    const fh = await open(this.#d.eventsFile, "r");
    let chunk: string;
    try {
      const buf = new Uint8Array(size - this.#offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.#offset);
      this.#offset += bytesRead;
      chunk = new TextDecoder().decode(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    const out: LearnDecision[] = [];
    // The offset is already past these lines: a line that fails is reported and skipped,
    // never allowed to take the rest of the chunk with it.
    for (const line of lines) {
      try {
        const d = await this.#line(line);
        if (d) out.push(d);
      } catch (e) {
        this.#d.emit(
          "fault",
          null,
          `lease watcher: event "${line.slice(0, 120)}" failed: ${
            e instanceof Error ? e.message : e
          }`,
          {},
        );
      }
    }
    return out;
  }

  async #line(line: string): Promise<LearnDecision | null> {
    const event = parseHookLine(line);
    if (!event) return null;
    const d = decideLease(
      this.#d.map,
      event,
      this.#d.target(),
      this.#d.table.all(),
      this.#d.learningRange ?? null,
    );
    this.decisions.push(d);
    if (this.decisions.length > 200) this.decisions.shift();
    if (d.kind === "unknown") {
      this.#unknown.delete(d.mac); // re-inserted as the newest
      this.#unknown.set(d.mac, { mac: d.mac, ip: d.ip, at: event.at, reason: d.reason });
      if (this.#unknown.size > MAX_UNKNOWN) {
        this.#unknown.delete(this.#unknown.keys().next().value!);
      }
    } else if (d.kind === "learn" || d.kind === "known") this.#unknown.delete(d.mac);
    if (applyDecision(this.#d.map, d, this.#d.table, this.#d.emit) && d.kind === "learn") {
      await this.#d.onLearned?.(d.node, d.mac);
    }
    return d;
  }

  /**
   * Starts polling. The first poll skips content already in the file unless `fromStart`;
   * a file that does not exist yet is read from its start once it appears.
   */
  start(): void {
    if (this.#loop) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = (async () => {
      while (!abort.signal.aborted) {
        try {
          await this.poll();
        } catch (e) {
          this.#d.emit("fault", null, `lease watcher: ${e instanceof Error ? e.message : e}`, {});
        }
        await this.#d.clock.sleep(this.#d.pollMs ?? 500, abort.signal);
      }
    })();
  }

  /** Stops polling and waits for the loop to end. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#loop = null;
  }
}
