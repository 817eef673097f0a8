/**
 * The boot monitor: keeps each node's boot timeline (the latest and the one before) from
 * real signals — rail read-back (`power_changed` events), dnsmasq's DHCP/TFTP log lines
 * (the parser in `dnsmasq_log.ts`) and agent heartbeats — and marks a boot stalled when a
 * stage misses its deadline (`boot_timeout`). Every stage reached is a `boot_stage` event.
 * It observes only; what to do about a stall is the recovery's business.
 */
import type { Clock } from "../../shared/clock.ts";
import type { BootTimeline } from "../../shared/boot_schemas.ts";
import { bayOf, nodeIdForIp, type NodeMap } from "../../shared/node_map.ts";
import type { ClusterEvent } from "../../shared/schemas.ts";
import type { EventLog } from "../events/event_log.ts";
import { isStoreFull, type Store } from "../store/store.ts";
import { parseDnsmasqLine } from "./dnsmasq_log.ts";
import {
  applySignal,
  type BootSignal,
  type BootTimeouts,
  endTimeline,
  nextDeadline,
  overdueStage,
  stageDeadline,
  stall,
  startTimeline,
} from "./timeline.ts";
import { backgroundFailed } from "../process_faults.ts";

/** What the monitor needs. */
export interface BootMonitorDeps {
  map: NodeMap;
  events: EventLog;
  clock: Clock;
  store: Store;
  timeouts: BootTimeouts;
  /** The bay a MAC belongs to (the learned MAC table), if known. */
  nodeForMac: (mac: string) => number | undefined;
  /**
   * Whether dnsmasq's DHCP and TFTP log reaches the monitor (netboot runs live, or the
   * virtual cluster writes it); it covers LAN bays only.
   */
  netbootObserved: () => boolean;
  /**
   * How long after a node's first DISCOVER its lease and first TFTP transfer may still come
   * (the Pi boot ROM's five tries, `ROM_DHCP_WINDOW_MS`, scaled); default 0, none.
   */
  romDhcpWindowMs?: number;
}

/** A node's two most recent timelines, as stored. */
interface Pair {
  latest: BootTimeline | null;
  previous: BootTimeline | null;
}

/** How a watched boot ended. */
export type BootOutcome =
  | { kind: "running"; timeline: BootTimeline }
  | { kind: "stalled"; timeline: BootTimeline }
  | { kind: "off"; timeline: BootTimeline | null };

const KEY = (node: number) => `boot.timeline.${node}`;

/** Keeps boot timelines and notices stalls. */
export class BootMonitor {
  readonly #d: BootMonitorDeps;
  readonly timeouts: BootTimeouts;
  readonly #pairs = new Map<number, Pair>();
  readonly #timers = new Map<number, AbortController>();
  readonly #listeners = new Map<number, Set<() => void>>();
  /** Attempt number the next timeline of a node starts with (set by recovery). */
  readonly #nextAttempt = new Map<number, number>();
  /** Addresses dnsmasq handed out, for TFTP lines (which name only the address). */
  readonly #ipNode = new Map<string, number>();
  readonly #macNode = new Map<string, number>();
  readonly #unsubscribe: (() => void)[];
  #closed = false;

  constructor(deps: BootMonitorDeps) {
    this.#d = deps;
    this.timeouts = deps.timeouts;
    // Power events and heartbeats (node updates that carry an agent's seq) come from the log.
    this.#unsubscribe = [
      deps.events.subscribe((e) => this.#onEvent(e)),
      deps.events.subscribeNodes((u) => {
        const seq = u.changes.agent?.seq;
        if (seq !== undefined) this.heartbeat(u.node, seq);
      }),
    ];
  }

  /** The latest timeline and the one before it. */
  timelines(node: number): Pair {
    let p = this.#pairs.get(node);
    if (!p) {
      p = this.#d.store.getSetting<Pair>(KEY(node)) ?? { latest: null, previous: null };
      this.#pairs.set(node, p);
    }
    return p;
  }

  /** The next timeline of `node` is recovery attempt `attempt`. */
  expectAttempt(node: number, attempt: number): void {
    this.#nextAttempt.set(node, attempt);
  }

  /** Feeds one line of dnsmasq's log (real, or synthetic from the simulated module). */
  ingestLine(line: string): void {
    const sig = parseDnsmasqLine(line);
    if (!sig) return;
    const at = Math.round(this.#d.clock.now());
    if (!("mac" in sig)) {
      const node = this.#ipNode.get(sig.ip) ?? nodeIdForIp(this.#d.map, sig.ip);
      if (node === undefined) return;
      const file = sig.path.slice(sig.path.lastIndexOf("/") + 1);
      this.#apply(node, { kind: "tftp", at, file, ip: sig.ip, ok: sig.kind === "tftp_sent" });
      return;
    }
    const node = this.#d.nodeForMac(sig.mac) ?? this.#macNode.get(sig.mac) ??
      (sig.kind === "dhcp_ack" && sig.ip ? nodeIdForIp(this.#d.map, sig.ip) : undefined);
    if (node === undefined) return;
    if (sig.ip && (sig.kind === "dhcp_ack" || sig.kind === "dhcp_offer")) {
      this.#ipNode.set(sig.ip, node);
      this.#macNode.set(sig.mac, node);
    }
    if (sig.kind === "dhcp_offer" || sig.kind === "dhcp_nak") return;
    const detail = `${sig.kind.slice(5).toUpperCase()} ${sig.ip ? `${sig.ip} ` : ""}${sig.mac}` +
      (sig.note ? ` ${sig.note}` : "");
    this.#apply(node, { kind: sig.kind, at, detail });
  }

  /** An agent heartbeat from `node` (every one: the second makes the boot `running`). */
  heartbeat(node: number, seq: number): void {
    this.#apply(node, { kind: "heartbeat", at: Math.round(this.#d.clock.now()), seq });
  }

  /**
   * Resolves when the boot of `node` under way ends: running, stalled (a deadline passed) or
   * off. A node with no booting timeline resolves at once with how its latest one ended.
   */
  watch(node: number, signal?: AbortSignal): Promise<BootOutcome> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const t = this.timelines(node).latest;
        if (t && t.state === "booting" && !signal?.aborted && !this.#closed) return false;
        if (t?.state === "running") resolve({ kind: "running", timeline: t });
        else if (t?.state === "stalled") resolve({ kind: "stalled", timeline: t });
        else resolve({ kind: "off", timeline: t });
        return true;
      };
      if (check()) return;
      const set = this.#listeners.get(node) ?? new Set();
      this.#listeners.set(node, set);
      const listener = () => {
        if (!check()) return;
        set.delete(listener);
        signal?.removeEventListener("abort", listener);
      };
      set.add(listener);
      signal?.addEventListener("abort", listener, { once: true });
    });
  }

  /** Stops timers and listening. */
  close(): void {
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    for (const t of this.#timers.values()) t.abort();
    for (const set of this.#listeners.values()) for (const l of [...set]) l();
  }

  #onEvent(e: ClusterEvent): void {
    if (e.type !== "power_changed" || e.node === null) return;
    const node = e.node;
    const now = Math.round(this.#d.clock.now());
    const p = this.timelines(node);
    // The self test holds a rail on to check it, with no boot meant: not a boot attempt.
    if (e.data.to === "on" && e.data.selfTest !== true) {
      const attempt = this.#nextAttempt.get(node) ?? 1;
      this.#nextAttempt.delete(node);
      const previous = p.latest ? endTimeline(p.latest, now) : null;
      const observed = (bayOf(this.#d.map, node)?.lan ?? false) && this.#d.netbootObserved();
      const latest = startTimeline(node, now, attempt, observed);
      this.#save(node, { latest, previous });
      this.#stageEvent(node, latest, latest.stages[0]);
      this.#arm(node);
    } else if (e.data.to === "off" && p.latest) {
      this.#save(node, { ...p, latest: endTimeline(p.latest, now) });
    }
  }

  #apply(node: number, s: BootSignal): void {
    const p = this.timelines(node);
    if (!p.latest) return;
    const { timeline, reached } = applySignal(p.latest, s);
    if (timeline === p.latest) return;
    this.#save(node, { ...p, latest: timeline });
    for (const m of reached) this.#stageEvent(node, timeline, m);
    if (reached.length) this.#arm(node);
  }

  #stageEvent(node: number, t: BootTimeline, m: BootTimeline["stages"][number]): void {
    const after = ((m.at - t.poweredOnAt) / 1000).toFixed(1);
    this.#d.events.emit(
      "boot_stage",
      node,
      `node ${node} boot: ${m.stage.replace("_", " ")}${
        m.inferred ? " (inferred)" : ""
      } ${after} s after power-on: ${m.detail}`,
      { stage: m.stage, at: m.at, attempt: t.attempt, inferred: m.inferred, detail: m.detail },
    );
  }

  /** One deadline timer per node, for its next open stage. */
  #arm(node: number): void {
    this.#timers.get(node)?.abort();
    this.#timers.delete(node);
    const t = this.timelines(node).latest;
    if (!t || this.#closed) return;
    const window = this.#d.romDhcpWindowMs ?? 0;
    const at = nextDeadline(t, this.timeouts, window);
    if (at === null) return;
    const ac = new AbortController();
    this.#timers.set(node, ac);
    this.#d.clock.sleepUntil(at, ac.signal).then(() => {
      if (ac.signal.aborted || this.#closed) return;
      this.#timers.delete(node);
      const p = this.timelines(node);
      if (p.latest !== t) return this.#arm(node);
      const now = this.#d.clock.now();
      const stage = overdueStage(t, now, this.timeouts, window);
      if (!stage) return this.#arm(node);
      const stalled = stall(t, stage, now);
      this.#save(node, { ...p, latest: stalled });
      const timeoutMs = stageDeadline(t, stage, this.timeouts, window) - t.poweredOnAt;
      this.#d.events.emit(
        "boot_timeout",
        node,
        `node ${node} boot stalled before ${stage.replace("_", " ")}: not reached ${
          (timeoutMs / 1000).toFixed(1)
        } s after power-on (attempt ${t.attempt})`,
        { stage, attempt: t.attempt, timeoutMs },
      );
    }).catch(backgroundFailed("boot deadline timer"));
  }

  #save(node: number, p: Pair): void {
    this.#pairs.set(node, p);
    try {
      if (!this.#closed) this.#d.store.setSetting(KEY(node), p);
    } catch (e) {
      // A full disk: the timeline is kept in memory (and /health says degraded).
      if (!isStoreFull(e)) throw e;
    }
    for (const l of [...(this.#listeners.get(node) ?? [])]) l();
  }
}
