/**
 * The netboot supervisor: renders and applies the configs, runs the services (dnsmasq, and
 * rpcbind and nfs-ganesha) as supervised children, tails lease events for MAC learning, checks
 * NFS and NAT, and resets overlays. In dry mode (not root, not a Pi, or by setting) it only
 * renders into `dryDir`, so the hub on a simulated module works anywhere. Its parts: the
 * files on disk (`config_files.ts`), the services (`netboot_services.ts`), the reloads that
 * bring written files to them (`reloads.ts`), the checks (`netboot_checks.ts`) and the status
 * pages (`status_report.ts`).
 */
import { resolve } from "node:path";
import type { NodeMap } from "../../../shared/node_map.ts";
import type { Clock } from "../../../shared/clock.ts";
import { realClock } from "../../../shared/clock.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { KeyedMutex } from "../../../shared/keyed_mutex.ts";
import type {
  ApplyPlan,
  ApplyResult,
  NetbootStatus,
  ServicesResponse,
} from "../../../shared/netboot_schemas.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { type ReloadAction, type RenderedFile, renderNetbootFiles } from "../render/all.ts";
import type { EventSink, LearningTarget, MacTable } from "./mac_learner.ts";
import { LeaseWatcher, type UnknownMac } from "./lease_watcher.ts";
import { DenoProcessRunner, type ProcessRunner } from "./process_runner.ts";
import type { BackoffPolicy, ServiceStatus } from "./supervised_process.ts";
import { type CheckResult, type ReadText, readTextOrNull } from "./system_checks.ts";
import { decideMode, type HostProbe, type ModeDecision, realHostProbe } from "./mode.ts";
import { resetOverlay, type ResetResult } from "./overlay_reset.ts";
import { relinkBootDirsEvery } from "./boot_dirs.ts";
import { NetbootServices } from "./netboot_services.ts";
import { everyReload, plannedReloads, runOwedReloads } from "./reloads.ts";
import {
  planRenderedFiles,
  prepareLiveDirs,
  writeOverlayAgentKey,
  writeRenderedFiles,
} from "./config_files.ts";
import { NetbootChecks } from "./netboot_checks.ts";
import { netbootStatus, servicesResponse } from "./status_report.ts";

export { BOOT_DIR_RELINK_MS } from "./boot_dirs.ts";
export { CHECK_CACHE_MS } from "./netboot_checks.ts";

/** What the supervisor is built from (the hub wires these). */
export interface NetbootSupervisorDeps {
  map: NodeMap;
  settings: NetbootSettings;
  macs: MacTable;
  emit: EventSink;
  /** The bay the control plane powered on and waits to learn (null: none). */
  learningTarget?: () => LearningTarget | null;
  /** Whether a node is powered on; a reset of a powered node needs `force`. */
  isPoweredOn?: (node: number) => boolean;
  /**
   * Node N's own agent key, written into its overlay (mode 0600) when overlays are on, so the
   * node's agent authenticates as that node and the shared root holds no key.
   */
  agentKeyFor?: (node: number) => string;
  runner?: ProcessRunner;
  clock?: Clock;
  probe?: HostProbe;
  readText?: ReadText;
  backoff?: BackoffPolicy;
  /** Lease-event poll interval, ms (default 500). */
  pollMs?: number;
  /** Every line of dnsmasq's log (DHCP and TFTP, `log-dhcp`), e.g. for boot timelines. */
  onLogLine?: (line: string) => void;
}

/** Runs the netboot services. */
export class NetbootSupervisor {
  readonly #d: NetbootSupervisorDeps;
  readonly #runner: ProcessRunner;
  readonly #clock: Clock;
  readonly #mode: ModeDecision;
  readonly #services: NetbootServices;
  readonly #checks: NetbootChecks;
  readonly #watcher: LeaseWatcher;
  #lastApply: ApplyResult | null = null;
  /**
   * Reloads still owed: added when a file is written, removed only once the reload
   * succeeded, so a failed reload, a write that threw after others, or a crash between
   * write and reload is retried by the next apply. Live mode starts with every reload owed:
   * the files on disk may be newer than what the services run.
   */
  readonly #pending: Set<ReloadAction>;
  /** Applies and resets run one at a time. */
  readonly #lock = new KeyedMutex<"netboot">();
  /** Stops the boot-dir relinking loop (live mode with overlays). */
  #relink: { stop: AbortController; loop: Promise<void> } | null = null;

  constructor(deps: NetbootSupervisorDeps) {
    validateSettings(deps.map, deps.settings);
    this.#d = deps;
    this.#runner = deps.runner ?? new DenoProcessRunner();
    this.#clock = deps.clock ?? realClock;
    this.#mode = decideMode(deps.settings.mode, deps.probe ?? realHostProbe);
    const s = deps.settings;
    this.#pending = this.live ? everyReload(s) : new Set();
    this.#services = new NetbootServices({
      settings: s,
      runner: this.#runner,
      clock: this.#clock,
      emit: deps.emit,
      backoff: deps.backoff,
      onLogLine: deps.onLogLine,
    });
    this.#checks = new NetbootChecks({
      live: this.live,
      map: deps.map,
      settings: s,
      runner: this.#runner,
      readText: deps.readText ?? readTextOrNull,
      clock: this.#clock,
      ganesha: () => this.#services.ganeshaStatus(),
    });
    this.#watcher = new LeaseWatcher({
      map: deps.map,
      eventsFile: this.leaseEventsFile,
      table: deps.macs,
      emit: deps.emit,
      target: () => deps.learningTarget?.() ?? null,
      learningRange: s.learningRange,
      clock: this.#clock,
      pollMs: deps.pollMs,
      onLearned: async () => {
        await this.apply();
      },
    });
  }

  /** True in live mode. */
  get live(): boolean {
    return this.#mode.mode === "live";
  }

  /** Live or dry, and why. */
  get mode(): ModeDecision {
    return this.#mode;
  }

  /** Absolute directory dry mode renders into. */
  get dryDir(): string {
    return resolve(this.#d.settings.dryDir);
  }

  /** The file the lease watcher reads dhcp-script hook lines from (live or dry mode's). */
  get leaseEventsFile(): string {
    return this.live ? this.#d.settings.paths.eventsFile : `${this.dryDir}/dhcp-events.log`;
  }

  /** The lease watcher (its `poll()` lets tests and the hub process events on demand). */
  get leaseWatcher(): LeaseWatcher {
    return this.#watcher;
  }

  /** Every config file for the current MAC table (pure; nothing written). */
  render(): RenderedFile[] {
    return renderNetbootFiles(this.#d.map, this.#d.settings, this.#d.macs.all());
  }

  /** Where files go: null in live mode (their own paths), else the dry directory. */
  #fileDir(): string | null {
    return this.live ? null : this.dryDir;
  }

  /**
   * Writes the rendered files atomically (only those that changed) and applies the changes
   * by reloading: SIGHUP for dnsmasq's hosts files, a dnsmasq restart only when dnsmasq.conf
   * changed, `exportfs -ra`, `iptables-restore`, `sysctl -p`. A reload that failed (or was
   * never reached) is owed and retried by the next apply; the first live apply of a process
   * runs every reload. Dry mode only writes into `dryDir`. One apply or reset at a time.
   */
  apply(): Promise<ApplyResult> {
    return this.#lock.run("netboot", () => this.#apply());
  }

  /**
   * What {@link apply} would do, doing none of it: a unified diff of every rendered file
   * against the file on disk, and the reloads it would run (those of the changed files, plus
   * any still owed). Dry mode compares against the dry directory and reloads nothing.
   */
  plan(): Promise<ApplyPlan> {
    return this.#lock.run("netboot", async () => {
      const owed = new Set(this.live ? this.#pending : []);
      const owe = this.live ? (r: ReloadAction) => owed.add(r) : undefined;
      const files = await planRenderedFiles(this.render(), this.#fileDir(), owe);
      const reloads = plannedReloads(owed, this.#d.settings);
      return { dryRun: true, mode: this.#mode.mode, files, reloads };
    });
  }

  async #apply(): Promise<ApplyResult> {
    const owe = this.live ? (r: ReloadAction) => this.#pending.add(r) : undefined;
    const { written, unchanged } = await writeRenderedFiles(this.render(), this.#fileDir(), owe);
    const reloads: ApplyResult["reloads"] = [];
    if (this.live) {
      const { map, settings, agentKeyFor } = this.#d;
      await prepareLiveDirs(map, settings, this.#services.runsGanesha, agentKeyFor);
      reloads.push(...await runOwedReloads(this.#pending, this.#services, this.#runner, settings));
    }
    this.#checks.invalidate(); // what the checks look at may have changed
    this.#lastApply = {
      mode: this.#mode.mode,
      dir: this.live ? null : this.dryDir,
      written,
      unchanged,
      reloads,
      at: this.#clock.now(),
    };
    return this.#lastApply;
  }

  /**
   * Applies the configs, starts dnsmasq (live mode), with nfs-ganesha also rpcbind and then
   * ganesha (once rpcbind answers, so ganesha can register its services), and the lease watcher.
   */
  async start(): Promise<void> {
    await this.apply();
    if (this.live) {
      this.#services.startDnsmasq();
      // The new process reads the files just written.
      this.#pending.delete("dnsmasq-restart");
      this.#pending.delete("dnsmasq-hup");
      if (await this.#services.startNfs()) this.#pending.delete("ganesha-restart");
    }
    this.#watcher.start();
    const { map, settings: s } = this.#d;
    if (this.live && s.overlays && !this.#relink) {
      const stop = new AbortController();
      const loop = relinkBootDirsEvery(map, s.paths.tftpRoot, this.#clock, stop.signal);
      this.#relink = { stop, loop };
    }
  }

  /** Stops the lease watcher, dnsmasq and (ganesha, then rpcbind) the NFS server. */
  async stop(): Promise<void> {
    if (this.#relink) {
      this.#relink.stop.abort();
      await this.#relink.loop;
      this.#relink = null;
    }
    await this.#watcher.stop();
    await this.#services.stop();
  }

  /** rpcbind's and nfs-ganesha's status (nfsServer "ganesha"), else an empty list. */
  nfsServices(): ServiceStatus[] {
    const g = this.#services.ganeshaStatus();
    return g ? [g.rpcbind, g.ganesha] : [];
  }

  /** The dnsmasq child's status. */
  dnsmasqStatus(): ServiceStatus {
    return this.#services.dnsmasqStatus();
  }

  /**
   * NFS and NAT checks (skipped in dry mode). One result (or one check in flight) serves
   * every caller for {@link CHECK_CACHE_MS}; an apply starts afresh.
   */
  checks(): Promise<{ nfs: CheckResult; nat: CheckResult }> {
    return this.#checks.get();
  }

  /** Rows for `GET /services`. */
  async services(): Promise<ServicesResponse> {
    const dnsmasq = this.dnsmasqStatus();
    const checks = await this.checks();
    return servicesResponse({
      mode: this.#mode,
      dryDir: this.dryDir,
      dnsmasq,
      nfsServices: this.nfsServices(),
      checks,
    });
  }

  /** Everything for `GET /netboot/status`. */
  async status(): Promise<NetbootStatus> {
    const checks = await this.checks();
    return netbootStatus({
      map: this.#d.map,
      settings: this.#d.settings,
      mode: this.#mode,
      dnsmasq: this.dnsmasqStatus(),
      checks,
      waitingFor: this.waitingFor(),
      learned: this.#d.macs.all().size,
      unknownMacs: this.#watcher.unknownMacs().length,
      lastApply: this.#lastApply,
    });
  }

  /** The bay waiting to be learned, or null. */
  waitingFor(): number | null {
    return this.#d.learningTarget?.()?.node ?? null;
  }

  /** MACs that asked for a lease but belong to no bay. */
  unknownMacs(): UnknownMac[] {
    return this.#watcher.unknownMacs();
  }

  /**
   * Resets node `node` to the base image by emptying its overlay. Refuses when overlays
   * are off, or while the node is powered on unless `force`.
   */
  resetNode(node: number, force = false): Promise<ResetResult> {
    const s = this.#d.settings;
    if (!s.overlays) {
      return Promise.reject(
        new ClusterError(
          "conflict",
          "overlays are off: every node runs the shared read-only image, nothing to reset",
        ),
      );
    }
    if (!force && this.#d.isPoweredOn?.(node)) {
      return Promise.reject(
        new ClusterError(
          "conflict",
          `node ${node} is powered on: power it off first, or reset with force`,
        ),
      );
    }
    const dir = this.live ? s.paths.overlayDir : `${this.dryDir}/overlay`;
    // The base image has no key: the node's own goes back in at once.
    return this.#lock.run("netboot", async () => {
      const result = await resetOverlay(this.#d.map, dir, node);
      await writeOverlayAgentKey(this.#d.map, dir, node, this.#d.agentKeyFor);
      return result;
    });
  }
}
