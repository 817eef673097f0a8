/**
 * A {@link ProcessRunner} for the namespace test: long-running children (dnsmasq) run for
 * real inside one network namespace; short host-wide commands (exportfs, iptables-restore,
 * sysctl) are only recorded, so the test can never change the host's NFS, firewall or sysctls.
 */
import {
  type ChildProcessHandle,
  DenoProcessRunner,
  type ProcessRunner,
  type RunResult,
} from "../../hub/netboot/process_runner.ts";

/** Runs children in namespace `ns`; records short commands instead of running them. */
export class NetnsRunner implements ProcessRunner {
  readonly ran: string[][] = [];
  readonly #inner = new DenoProcessRunner();
  constructor(readonly ns: string, readonly ipBinary: string) {}

  spawn(cmd: string, args: string[]): ChildProcessHandle {
    return this.#inner.spawn(this.ipBinary, ["netns", "exec", this.ns, cmd, ...args]);
  }

  run(cmd: string, args: string[]): Promise<RunResult> {
    this.ran.push([cmd, ...args]);
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  }
}
