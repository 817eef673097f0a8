/**
 * The NFS and NAT checks behind the netboot status, shared for a moment: they fork `exportfs`
 * and `iptables`, and public routes ask for them, so one result (or one check in flight)
 * serves every caller for {@link CHECK_CACHE_MS}. Skipped in dry mode.
 */
import type { Clock } from "../../../shared/clock.ts";
import type { NodeMap } from "../../../shared/node_map.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import type { ProcessRunner } from "./process_runner.ts";
import type { GaneshaStatus } from "./netboot_services.ts";
import {
  checkGanesha,
  checkNat,
  checkNfs,
  type CheckResult,
  type ReadText,
} from "./system_checks.ts";

/** How long NFS/NAT check results are reused, ms. */
export const CHECK_CACHE_MS = 5000;

/** The NFS and NAT checks' results. */
export interface NetbootCheckResults {
  nfs: CheckResult;
  nat: CheckResult;
}

const SKIPPED = (name: string): CheckResult => ({
  name,
  state: "skipped",
  detail: "dry mode: not checked",
  checks: {},
});

/** What the checks read. */
export interface NetbootChecksDeps {
  live: boolean;
  map: NodeMap;
  settings: NetbootSettings;
  runner: ProcessRunner;
  readText: ReadText;
  clock: Clock;
  /** rpcbind's and ganesha's status when the NFS server is ganesha, else null. */
  ganesha: () => GaneshaStatus | null;
}

/** NFS and NAT checks with a short cache. */
export class NetbootChecks {
  readonly #d: NetbootChecksDeps;
  #cached: { at: number; result: Promise<NetbootCheckResults> } | null = null;

  constructor(deps: NetbootChecksDeps) {
    this.#d = deps;
  }

  /** The checks' results: cached for {@link CHECK_CACHE_MS}; a failure is not cached. */
  get(): Promise<NetbootCheckResults> {
    const { live, map, settings, runner, readText, clock } = this.#d;
    if (!live) return Promise.resolve({ nfs: SKIPPED("nfs"), nat: SKIPPED("nat") });
    const now = clock.now();
    if (this.#cached && now - this.#cached.at < CHECK_CACHE_MS) return this.#cached.result;
    const g = this.#d.ganesha();
    const result = Promise.all([
      g ? checkGanesha(map, g.rpcbind, g.ganesha, runner) : checkNfs(settings, runner, readText),
      checkNat(map, settings, runner, readText),
    ]).then(([nfs, nat]) => ({ nfs, nat }));
    const entry = { at: now, result };
    this.#cached = entry;
    result.catch(() => {
      if (this.#cached === entry) this.#cached = null; // do not cache a failure
    });
    return result;
  }

  /** Forgets the cached result (what the checks look at may have changed). */
  invalidate(): void {
    this.#cached = null;
  }
}
