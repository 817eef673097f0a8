/**
 * The netboot services as supervised children: dnsmasq, and with nfs-ganesha also rpcbind and
 * ganesha. Each state change is emitted as a `service_state` event. The supervisor starts,
 * reloads and stops them through this; nothing runs before `startDnsmasq`.
 */
import type { Clock } from "../../../shared/clock.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { DNSMASQ_FILES } from "../render/dnsmasq.ts";
import type { EventSink } from "./mac_learner.ts";
import type { ProcessRunner } from "./process_runner.ts";
import { type BackoffPolicy, type ServiceStatus, SupervisedProcess } from "./supervised_process.ts";

/** What the services are built from. */
export interface NetbootServicesDeps {
  settings: NetbootSettings;
  runner: ProcessRunner;
  clock: Clock;
  emit: EventSink;
  backoff?: BackoffPolicy;
  /** Every line of dnsmasq's log. */
  onLogLine?: (line: string) => void;
}

/** rpcbind's and nfs-ganesha's status. */
export interface GaneshaStatus {
  rpcbind: ServiceStatus;
  ganesha: ServiceStatus;
}

/** dnsmasq and (nfsServer "ganesha") rpcbind and nfs-ganesha, supervised. */
export class NetbootServices {
  readonly #runner: ProcessRunner;
  readonly #clock: Clock;
  readonly #dnsmasq: SupervisedProcess;
  /** rpcbind and nfs-ganesha, when the NFS server is ganesha (null: the kernel's). */
  readonly #nfs: { rpcbind: SupervisedProcess; ganesha: SupervisedProcess } | null;
  #started = false;

  constructor(deps: NetbootServicesDeps) {
    const s = deps.settings;
    this.#runner = deps.runner;
    this.#clock = deps.clock;
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
        runner: deps.runner,
        clock: deps.clock,
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
  }

  /** Whether `startDnsmasq` ran (and `stop` did not since). */
  get started(): boolean {
    return this.#started;
  }

  /** Whether the NFS server is nfs-ganesha (run here) rather than the kernel's. */
  get runsGanesha(): boolean {
    return this.#nfs !== null;
  }

  /** Starts dnsmasq; it reads the files on disk as they are now. */
  startDnsmasq(): void {
    this.#started = true;
    this.#dnsmasq.start();
  }

  /**
   * With nfs-ganesha: starts rpcbind, waits until it answers (so ganesha can register its
   * services), then starts ganesha; true. Without: false.
   */
  async startNfs(): Promise<boolean> {
    if (!this.#nfs) return false;
    this.#nfs.rpcbind.start();
    await this.#waitForRpcbind();
    this.#nfs.ganesha.start();
    return true;
  }

  /** Polls `rpcinfo -p` until rpcbind answers (at most about 5 s; ganesha starts anyway). */
  async #waitForRpcbind(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if (this.#nfs?.rpcbind.status().state !== "running") break;
      if ((await this.#runner.run("rpcinfo", ["-p", "127.0.0.1"])).code === 0) return;
      await this.#clock.sleep(100);
    }
  }

  /** Restarts dnsmasq (a fresh process reads every file). */
  restartDnsmasq(): Promise<void> {
    return this.#dnsmasq.restart();
  }

  /** Sends dnsmasq SIGHUP (it re-reads dhcp-hosts and hosts); false when it is not running. */
  hupDnsmasq(): boolean {
    return this.#dnsmasq.signal("SIGHUP");
  }

  /** Restarts nfs-ganesha; false when the NFS server is not ganesha. */
  async restartGanesha(): Promise<boolean> {
    if (!this.#nfs) return false;
    await this.#nfs.ganesha.restart();
    return true;
  }

  /** Stops dnsmasq and (ganesha, then rpcbind) the NFS server, if they were started. */
  async stop(): Promise<void> {
    if (this.#started) {
      await this.#dnsmasq.stop();
      await this.#nfs?.ganesha.stop();
      await this.#nfs?.rpcbind.stop();
    }
    this.#started = false;
  }

  /** The dnsmasq child's status. */
  dnsmasqStatus(): ServiceStatus {
    return this.#dnsmasq.status();
  }

  /** rpcbind's and nfs-ganesha's status (nfsServer "ganesha"), else null. */
  ganeshaStatus(): GaneshaStatus | null {
    return this.#nfs
      ? { rpcbind: this.#nfs.rpcbind.status(), ganesha: this.#nfs.ganesha.status() }
      : null;
  }
}
