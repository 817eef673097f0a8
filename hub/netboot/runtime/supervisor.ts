/**
 * The netboot supervisor: renders and applies the configs, runs dnsmasq as a supervised
 * child, tails lease events for MAC learning, checks NFS and NAT, and resets overlays.
 * In dry mode (not root, not a Pi, or by setting) it only renders into `dryDir`, so the hub
 * on a simulated module works anywhere.
 */
import { resolve } from "node:path";
import { mkdir } from "node:fs/promises";
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
import { DNSMASQ_FILES } from "../render/dnsmasq.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { unifiedDiff } from "../render/unified_diff.ts";
import type { EventSink, LearningTarget, MacTable } from "./mac_learner.ts";
import { LeaseWatcher, type UnknownMac } from "./lease_watcher.ts";
import { DenoProcessRunner, type ProcessRunner } from "./process_runner.ts";
import { type BackoffPolicy, type ServiceStatus, SupervisedProcess } from "./supervised_process.ts";
import {
  checkGanesha,
  checkNat,
  checkNfs,
  type CheckResult,
  type ReadText,
  readTextOrNull,
} from "./system_checks.ts";
import { decideMode, type HostProbe, type ModeDecision, realHostProbe } from "./mode.ts";
import { resetOverlay, type ResetResult } from "./overlay_reset.ts";
import { linkBootDirs } from "./boot_dirs.ts";
import { OVERLAY_AGENT_KEY, overlayPath } from "../render/overlays.ts";
import { NAT_CHAINS } from "../render/nat.ts";

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

/** Every reload, in the order {@link NetbootSupervisor} runs them. */
const RELOAD_ACTIONS: readonly ReloadAction[] = [
  "dnsmasq-restart",
  "dnsmasq-hup",
  "exportfs",
  "ganesha-restart",
  "iptables",
  "sysctl",
];

/**
 * How often, with overlays, the per-node boot dirs are checked for boot files that appeared
 * in the TFTP root since the last apply (an image installed or updated while the hub runs).
 */
export const BOOT_DIR_RELINK_MS = 5000;

/** How long NFS/NAT check results are reused, ms. */
export const CHECK_CACHE_MS = 5000;

const SKIPPED = (name: string): CheckResult => ({
  name,
  state: "skipped",
  detail: "dry mode: not checked",
  checks: {},
});

/** Runs the netboot services. */
export class NetbootSupervisor {
  readonly #d: NetbootSupervisorDeps;
  readonly #runner: ProcessRunner;
  readonly #clock: Clock;
  readonly #readText: ReadText;
  readonly #mode: ModeDecision;
  readonly #dnsmasq: SupervisedProcess;
  /** rpcbind and nfs-ganesha, when the NFS server is ganesha (null: the kernel's). */
  readonly #nfs: { rpcbind: SupervisedProcess; ganesha: SupervisedProcess } | null;
  readonly #watcher: LeaseWatcher;
  #lastApply: ApplyResult | null = null;
  /**
   * Reloads still owed: added when a file is written, removed only once the reload
   * succeeded, so a failed reload, a write that threw after others, or a crash between
   * write and reload is retried by the next apply. Live mode starts with every reload owed:
   * the files on disk may be newer than what the services run.
   */
  readonly #pending = new Set<ReloadAction>();
  #checks: { at: number; result: Promise<{ nfs: CheckResult; nat: CheckResult }> } | null = null;
  /** Applies and resets run one at a time. */
  readonly #lock = new KeyedMutex<"netboot">();
  #started = false;
  /** Stops the boot-dir relinking loop (live mode with overlays). */
  #relink: { stop: AbortController; loop: Promise<void> } | null = null;

  constructor(deps: NetbootSupervisorDeps) {
    validateSettings(deps.map, deps.settings);
    this.#d = deps;
    this.#runner = deps.runner ?? new DenoProcessRunner();
    this.#clock = deps.clock ?? realClock;
    this.#readText = deps.readText ?? readTextOrNull;
    this.#mode = decideMode(deps.settings.mode, deps.probe ?? realHostProbe);
    const s = deps.settings;
    if (this.live) {
      for (const a of RELOAD_ACTIONS) {
        if (a !== (s.nfsServer === "kernel" ? "ganesha-restart" : "exportfs")) this.#pending.add(a);
      }
    }
    const supervise = (
      name: string,
      cmd: string,
      args: string[],
      onStderrLine?: (line: string) => void,
    ) =>
      new SupervisedProcess({
        name,
        cmd,
        args,
        runner: this.#runner,
        clock: this.#clock,
        policy: deps.backoff,
        onStderrLine,
        onState: (st) =>
          deps.emit("service_state", null, `${name} ${st.state}`, {
            service: name,
            state: st.state,
            pid: st.pid,
            restarts: st.restarts,
            lastError: st.lastError,
          }),
      });
    this.#dnsmasq = supervise("dnsmasq", s.dnsmasqBinary, [
      "--keep-in-foreground",
      `--conf-file=${s.paths.configDir}/${DNSMASQ_FILES.conf}`,
      "--log-facility=-",
    ], deps.onLogLine);
    this.#nfs = s.nfsServer === "ganesha"
      ? {
        // -f: foreground; -w: warm start (keeps registrations across its restarts)
        rpcbind: supervise("rpcbind", s.rpcbindBinary, ["-f", "-w"]),
        ganesha: supervise("ganesha", s.ganeshaBinary, [
          "-F",
          "-f",
          s.paths.ganeshaConfig,
          "-L",
          "STDERR",
          "-p",
          `${s.paths.ganeshaStateDir}/ganesha.pid`,
        ]),
      }
      : null;
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

  /** Runs `fn` after every earlier apply/reset finished: one writer at a time. */
  /**
   * Writes the rendered files atomically (only those that changed) and applies the changes
   * by reloading: SIGHUP for dnsmasq's hosts files, a dnsmasq restart only when dnsmasq.conf
   * changed, `exportfs -ra`, `iptables-restore`, `sysctl -p`. A reload that failed (or was
   * never reached) is owed and retried by the next apply; the first live apply of a process
   * runs every reload. Dry mode only writes into `dryDir`.
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
      const files: ApplyPlan["files"] = [];
      const owed = new Set(this.live ? this.#pending : []);
      for (const f of this.render()) {
        const target = this.live ? f.path : `${this.dryDir}/${f.name}`;
        if (target === null) continue;
        const before = await Deno.readTextFile(target).catch((e) => {
          if (e instanceof Deno.errors.NotFound) return null;
          throw e;
        });
        const change = before === null ? "new" : before === f.content ? "unchanged" : "changed";
        if (change !== "unchanged" && this.live && f.reload !== "none") owed.add(f.reload);
        files.push({
          name: f.name,
          target,
          change,
          diff: unifiedDiff(before, f.content, target, target),
          reload: f.reload,
        });
      }
      const s = this.#d.settings;
      const how: Record<ReloadAction, string> = {
        "dnsmasq-restart": "restart dnsmasq (dnsmasq.conf changed)",
        "dnsmasq-hup": "SIGHUP dnsmasq: it re-reads dhcp-hosts and hosts",
        exportfs: "exportfs -ra",
        "ganesha-restart": "restart nfs-ganesha (ganesha.conf changed)",
        iptables: `iptables-restore --noflush ${s.paths.rulesV4File}, then the jumps to our chains`,
        sysctl: `sysctl -p ${s.paths.sysctlFile}`,
        none: "",
      };
      if (owed.has("dnsmasq-restart")) owed.delete("dnsmasq-hup");
      const reloads = RELOAD_ACTIONS.filter((a) => owed.has(a)).map((action) => ({
        action,
        detail: how[action],
      }));
      return { dryRun: true, mode: this.#mode.mode, files, reloads };
    });
  }

  async #apply(): Promise<ApplyResult> {
    const files = this.render();
    const written: string[] = [];
    const unchanged: string[] = [];
    for (const f of files) {
      const target = this.live ? f.path : `${this.dryDir}/${f.name}`;
      if (target === null) continue; // hand-copied files (WiFi) are rendered, not installed
      if (await writeFileAtomic(target, f.content, f.mode)) {
        written.push(target);
        if (this.live && f.reload !== "none") this.#pending.add(f.reload);
      } else unchanged.push(target);
    }
    const reloads: ApplyResult["reloads"] = [];
    if (this.live) {
      await this.#prepareDirs();
      reloads.push(...await this.#reload());
    }
    this.#checks = null; // what the checks look at may have changed
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

  async #prepareDirs(): Promise<void> {
    const { map, settings: s } = this.#d;
    for (const p of [s.paths.leaseFile, s.paths.eventsFile, s.paths.pidFile]) {
      await mkdir(p.slice(0, p.lastIndexOf("/")) || "/", { recursive: true });
    }
    if (this.#nfs) await mkdir(s.paths.ganeshaStateDir, { recursive: true, mode: 0o700 });
    if (s.overlays) {
      for (const bay of map.bays.filter((b) => b.lan)) {
        await mkdir(`${s.paths.overlayDir}/${bay.hostname}`, { recursive: true, mode: 0o755 });
        await this.#writeAgentKey(s.paths.overlayDir, bay.id);
      }
      await linkBootDirs(map, s.paths.tftpRoot);
    }
  }

  /** Writes node `node`'s own agent key into its overlay under `overlayDir` (if keys are given). */
  async #writeAgentKey(overlayDir: string, node: number): Promise<void> {
    const key = this.#d.agentKeyFor?.(node);
    if (key === undefined) return;
    const path = `${overlayPath(this.#d.map, overlayDir, node)}/${OVERLAY_AGENT_KEY}`;
    await writeFileAtomic(path, key + "\n", 0o600);
  }

  /** Runs every owed reload; each stays owed until it succeeds. */
  async #reload(): Promise<ApplyResult["reloads"]> {
    const s = this.#d.settings;
    const pending = this.#pending;
    const out: ApplyResult["reloads"] = [];
    const run = async (action: ReloadAction, cmd: string, args: string[]) => {
      const r = await this.#runner.run(cmd, args);
      if (r.code === 0) pending.delete(action);
      out.push({
        action,
        ok: r.code === 0,
        detail: r.code === 0
          ? `${cmd} ${args.join(" ")}`
          : `${cmd} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
      });
    };
    const failed = this.#dnsmasq.status().state === "failed";
    // Before start() nothing runs dnsmasq: start() itself reads the fresh files.
    if (this.#started && (pending.has("dnsmasq-restart") || failed)) {
      await this.#dnsmasq.restart();
      pending.delete("dnsmasq-restart");
      pending.delete("dnsmasq-hup"); // a fresh process reads every file
      out.push({
        action: "dnsmasq-restart",
        ok: true,
        detail: failed ? "dnsmasq had failed: restarted" : "dnsmasq.conf changed: restarted",
      });
    } else if (this.#started && pending.has("dnsmasq-hup")) {
      const ok = this.#dnsmasq.signal("SIGHUP");
      if (ok) pending.delete("dnsmasq-hup");
      out.push({
        action: "dnsmasq-hup",
        ok,
        detail: ok ? "SIGHUP: dnsmasq re-reads dhcp-hosts and hosts" : "dnsmasq is not running",
      });
    }
    if (pending.has("exportfs")) await run("exportfs", "exportfs", ["-ra"]);
    if (this.#started && this.#nfs && pending.has("ganesha-restart")) {
      await this.#nfs.ganesha.restart();
      pending.delete("ganesha-restart");
      out.push({
        action: "ganesha-restart",
        ok: true,
        detail: "ganesha.conf changed: nfs-ganesha restarted",
      });
    }
    if (pending.has("iptables")) out.push(await this.#loadRules());
    if (pending.has("sysctl")) await run("sysctl", "sysctl", ["-p", s.paths.sysctlFile]);
    return out;
  }

  /**
   * Loads our iptables chains without flushing anyone else's rules, then inserts a jump to
   * each chain from its built-in chain unless one is there (`-C`), so reloads never pile up
   * duplicate jumps. Clears the owed `iptables` reload only when every step succeeded.
   */
  async #loadRules(): Promise<ApplyResult["reloads"][number]> {
    const file = this.#d.settings.paths.rulesV4File;
    const fail = (what: string, r: { code: number; stdout: string; stderr: string }) => ({
      action: "iptables",
      ok: false,
      detail: `${what} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
    });
    const restore = await this.#runner.run("iptables-restore", ["--noflush", file]);
    if (restore.code !== 0) return fail("iptables-restore", restore);
    const inserted: string[] = [];
    for (const { table, parent, chain } of NAT_CHAINS) {
      const jump = ["-t", table, parent, "-j", chain];
      const check = await this.#runner.run("iptables", ["-t", table, "-C", parent, "-j", chain]);
      if (check.code === 0) continue;
      if (check.code !== 1) return fail(`iptables ${jump.join(" ")} check`, check);
      const add = await this.#runner.run("iptables", ["-t", table, "-I", parent, "1", "-j", chain]);
      if (add.code !== 0) return fail(`iptables insert of ${parent} -j ${chain}`, add);
      inserted.push(`${parent} -j ${chain}`);
    }
    this.#pending.delete("iptables");
    return {
      action: "iptables",
      ok: true,
      detail: `iptables-restore --noflush ${file}` +
        (inserted.length ? `; inserted ${inserted.join(", ")}` : ""),
    };
  }

  /**
   * Applies the configs, starts dnsmasq (live mode), with nfs-ganesha also rpcbind and then
   * ganesha (once rpcbind answers, so ganesha can register its services), and the lease watcher.
   */
  async start(): Promise<void> {
    await this.apply();
    if (this.live) {
      this.#started = true;
      this.#dnsmasq.start();
      // The new process reads the files just written.
      this.#pending.delete("dnsmasq-restart");
      this.#pending.delete("dnsmasq-hup");
      if (this.#nfs) {
        this.#nfs.rpcbind.start();
        await this.#waitForRpcbind();
        this.#nfs.ganesha.start();
        this.#pending.delete("ganesha-restart");
      }
    }
    this.#watcher.start();
    if (this.live && this.#d.settings.overlays && !this.#relink) {
      const stop = new AbortController();
      this.#relink = { stop, loop: this.#relinkLoop(stop.signal) };
    }
  }

  /**
   * dnsmasq serves a node only from its own boot dir once that exists (`tftp-unique-root`):
   * a boot file put into the TFTP root after the last apply must be linked there too, or the
   * Pi gets "not found" for it. Links what is missing every {@link BOOT_DIR_RELINK_MS}.
   */
  async #relinkLoop(signal: AbortSignal): Promise<void> {
    const { map, settings: s } = this.#d;
    while (!signal.aborted) {
      await this.#clock.sleep(BOOT_DIR_RELINK_MS, signal);
      if (signal.aborted) break;
      await linkBootDirs(map, s.paths.tftpRoot).catch(() => 0); // the next round tries again
    }
  }

  /** Polls `rpcinfo -p` until rpcbind answers (at most about 5 s; ganesha starts anyway). */
  async #waitForRpcbind(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if (this.#nfs?.rpcbind.status().state !== "running") break;
      if ((await this.#runner.run("rpcinfo", ["-p", "127.0.0.1"])).code === 0) return;
      await this.#clock.sleep(100);
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
    if (this.#started) {
      await this.#dnsmasq.stop();
      await this.#nfs?.ganesha.stop();
      await this.#nfs?.rpcbind.stop();
    }
    this.#started = false;
  }

  /** rpcbind's and nfs-ganesha's status (nfsServer "ganesha"), else an empty list. */
  nfsServices(): ServiceStatus[] {
    return this.#nfs ? [this.#nfs.rpcbind.status(), this.#nfs.ganesha.status()] : [];
  }

  /** The dnsmasq child's status. */
  dnsmasqStatus(): ServiceStatus {
    return this.#dnsmasq.status();
  }

  /**
   * NFS and NAT checks (skipped in dry mode). They fork `exportfs` and `iptables`, and public
   * routes ask for them: one result (or one check in flight) serves every caller for
   * {@link CHECK_CACHE_MS}; an apply starts afresh.
   */
  checks(): Promise<{ nfs: CheckResult; nat: CheckResult }> {
    if (!this.live) return Promise.resolve({ nfs: SKIPPED("nfs"), nat: SKIPPED("nat") });
    const now = this.#clock.now();
    if (this.#checks && now - this.#checks.at < CHECK_CACHE_MS) return this.#checks.result;
    const { map, settings } = this.#d;
    const nfs = this.#nfs;
    const result = Promise.all([
      nfs
        ? checkGanesha(map, nfs.rpcbind.status(), nfs.ganesha.status(), this.#runner)
        : checkNfs(settings, this.#runner, this.#readText),
      checkNat(map, settings, this.#runner, this.#readText),
    ]).then(([nfs, nat]) => ({ nfs, nat }));
    const entry = { at: now, result };
    this.#checks = entry;
    result.catch(() => {
      if (this.#checks === entry) this.#checks = null; // do not cache a failure
    });
    return result;
  }

  /** Rows for `GET /services`. */
  async services(): Promise<ServicesResponse> {
    const d = this.dnsmasqStatus();
    const { nfs, nat } = await this.checks();
    const dnsDetail = !this.live
      ? `dry mode (${this.#mode.reason}): configs rendered to ${this.dryDir}`
      : d.lastError ?? (d.state === "running" ? "serving DHCP, DNS and TFTP" : d.state);
    return {
      mode: this.#mode.mode,
      services: [
        { name: "dnsmasq", state: d.state, detail: dnsDetail, pid: d.pid, restarts: d.restarts },
        ...this.nfsServices().map((p) => ({
          name: p.name,
          state: p.state,
          detail: p.lastError ?? p.state,
          pid: p.pid,
          restarts: p.restarts,
        })),
        ...[nfs, nat].map((c) => ({
          name: c.name,
          state: c.state,
          detail: c.detail,
          pid: null,
          restarts: null,
        })),
      ],
    };
  }

  /** Everything for `GET /netboot/status`. */
  async status(): Promise<NetbootStatus> {
    const { map, settings: s } = this.#d;
    const { nfs, nat } = await this.checks();
    const p = map.config.subnetPrefix;
    return {
      mode: this.#mode.mode,
      modeReason: this.#mode.reason,
      dnsmasq: this.dnsmasqStatus(),
      nfs,
      nat,
      learning: {
        range: s.learningRange
          ? `${p}.${s.learningRange.first}-${p}.${s.learningRange.last}`
          : null,
        waitingFor: this.waitingFor(),
        learned: this.#d.macs.all().size,
        unknownMacs: this.#watcher.unknownMacs().length,
      },
      overlays: s.overlays,
      lastApply: this.#lastApply,
    };
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
      await this.#writeAgentKey(dir, node);
      return result;
    });
  }
}
