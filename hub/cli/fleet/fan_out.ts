/**
 * Runs one verb on many hubs at once. Each hub gets its own API client, its output is kept
 * apart, and each call has a deadline: a hub that is down answers at once with the reason, a
 * slow one is given up on at its deadline. Neither holds up the others.
 */
import { ClusterError } from "../../../shared/errors.ts";
import type { ModuleInfo } from "../../../shared/schemas.ts";
import type { ApiClient } from "../api_client.ts";
import type { CliCommand, CliContext } from "../command.ts";
import type { HubEntry } from "./hubs_file.ts";

/** What one hub did. */
export interface HubOutcome {
  hub: HubEntry;
  /** The module the hub serves (from `GET /module`), when it answered. */
  module?: string;
  /** The verb's exit code; 1 when the hub was down or slow. */
  code: number;
  out: string[];
  err: string[];
  /** Why the hub gave no answer (down, slow, refused), or the verb's error. */
  error?: string;
  ms: number;
}

/** How to run a verb on one hub. */
export interface FanOutOptions {
  command: CliCommand;
  args: string[];
  json: boolean;
  /** A hub's deadline, ms. */
  timeoutMs: number;
  /**
   * Switch running nodes off without asking (`--yes`, CM_ASSUME_YES, or Slurm's own decision):
   * hubs run at once and never ask, so without it such a call is refused on each hub.
   */
  assumeYes?: boolean;
  /** The hub must serve this module (MODULE:N was resolved from the hubs file): else nothing runs. */
  expectModule?: string;
  /** The API client of a hub (throws when it cannot be made, e.g. an unreadable token file). */
  client(hub: HubEntry, timeoutMs: number): ApiClient;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs the verb on one hub, within its deadline. */
export async function runOnHub(hub: HubEntry, opts: FanOutOptions): Promise<HubOutcome> {
  const started = performance.now();
  const outcome: HubOutcome = { hub, code: 1, out: [], err: [], ms: 0 };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const work = (async () => {
    // The request's own timeout a little later than the deadline: a slow hub is reported as
    // slow (the deadline), not as an aborted request, whichever timer the loop runs first.
    const api = opts.client(hub, opts.timeoutMs + 1000);
    const mod = await api.get<ModuleInfo>("/module");
    outcome.module = mod.module;
    if (opts.expectModule !== undefined && mod.module !== opts.expectModule) {
      throw new ClusterError(
        "conflict",
        `hub ${hub.name} now serves module ${mod.module}, not ${opts.expectModule}: nothing done (cm hubs list shows the fleet)`,
      );
    }
    const ctx: CliContext = {
      api,
      args: [...opts.args],
      json: opts.json,
      out: (l) => outcome.out.push(l),
      err: (l) => outcome.err.push(l),
      interactive: false,
      assumeYes: opts.assumeYes,
    };
    return await opts.command.run(ctx);
  })();
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), opts.timeoutMs);
  });
  try {
    const r = await Promise.race([work, deadline]);
    if (r === "late") {
      // The request's own abort signal ends it soon; its result is not wanted any more.
      work.catch(() => {});
      outcome.error = `no answer within ${opts.timeoutMs / 1000} s (slow or unreachable)`;
      outcome.code = 1;
    } else outcome.code = r;
  } catch (e) {
    outcome.error = message(e);
    outcome.code =
      e instanceof ClusterError && (e.code === "bad_request" || e.code === "invalid_range") ? 2 : 1;
  } finally {
    clearTimeout(timer);
  }
  outcome.ms = Math.round(performance.now() - started);
  return outcome;
}

/** Runs the verb on every hub in parallel; outcomes in the hubs' order. */
export function fanOut(hubs: readonly HubEntry[], opts: FanOutOptions): Promise<HubOutcome[]> {
  return Promise.all(hubs.map((h) => runOnHub(h, opts)));
}

/** Modules served by more than one hub: module → hub names. Never merged: reported. */
export function moduleCollisions(
  outcomes: readonly { hub: HubEntry; module?: string }[],
): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const o of outcomes) {
    if (o.module === undefined) continue;
    by.set(o.module, [...(by.get(o.module) ?? []), o.hub.name]);
  }
  return new Map([...by].filter(([, names]) => names.length > 1));
}

/** The message for module collisions. */
export function collisionMessage(collisions: Map<string, string[]>): string[] {
  return [...collisions].map(([module, names]) =>
    `module ${module} is served by ${names.length} hubs (${
      names.join(", ")
    }): its MODULE:N names are ambiguous and were not merged; start one with another --module`
  );
}
