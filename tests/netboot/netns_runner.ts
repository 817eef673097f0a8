/**
 * A {@link ProcessRunner} for the namespace test: long-running children (dnsmasq) run for
 * real inside one network namespace; short host-wide commands (exportfs, sysctl) are only
 * recorded, so the test can never change the host's NFS or sysctls; iptables may run in the
 * namespace, whose tables are its own.
 */
import {
  type ChildProcessHandle,
  DenoProcessRunner,
  type ProcessRunner,
  type RunResult,
  type SpawnOptions,
} from "../../hub/netboot/runtime/process_runner.ts";
import { netnsExecArgs } from "../../scripts/lib/netboot_lab.ts";

/**
 * Runs children in namespace `ns`. `iptables` and `iptables-restore` also run there for real
 * when `netnsLocal` names them (a namespace has its own netfilter tables); other short
 * commands are only recorded.
 */
export class NetnsRunner implements ProcessRunner {
  readonly ran: string[][] = [];
  readonly #inner = new DenoProcessRunner();
  /**
   * `privateRun`: a directory every child (and every namespace-local command) sees as `/run`,
   * in a mount namespace of its own, so rpcbind's and ganesha's sockets and locks never touch
   * the host's `/run`; children still share it with each other (same directory).
   */
  constructor(
    readonly ns: string,
    readonly ipBinary: string,
    readonly netnsLocal: ReadonlySet<string> = new Set(),
    readonly privateRun: string | null = null,
  ) {}

  #wrap(cmd: string, args: string[]): string[] {
    return netnsExecArgs(this.ns, this.privateRun, [cmd, ...args]);
  }

  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcessHandle {
    return this.#inner.spawn(this.ipBinary, this.#wrap(cmd, args), opts);
  }

  run(cmd: string, args: string[]): Promise<RunResult> {
    this.ran.push([cmd, ...args]);
    if (this.netnsLocal.has(cmd)) return this.#inner.run(this.ipBinary, this.#wrap(cmd, args));
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  }
}
