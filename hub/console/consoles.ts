/**
 * The consoles of the module: one `NodeConsole` per bay that has a source, each with its
 * history file under `<data dir>/console/`. Bays without a console answer `not_found` with
 * a message saying how to add one.
 */
import { join } from "node:path";
import type { Clock } from "../../shared/clock.ts";
import type { ConsoleHistory } from "../../shared/console_schemas.ts";
import { ClusterError } from "../../shared/errors.ts";
import { nodeHostname } from "../../shared/node_map.ts";
import { CONSOLE_LOG_BYTES, ConsoleLog } from "./console_log.ts";
import type { ConsoleSource } from "./console_source.ts";
import { type ConsoleEmit, type ConsoleLimits, NodeConsole } from "./node_console.ts";

/** What the consoles are built from. */
export interface ConsolesOptions {
  /** Each bay's console source (bays not in the map have none). */
  sources: ReadonlyMap<number, ConsoleSource>;
  /** Directory of the history files (created 0700), or null to keep history in memory. */
  dir: string | null;
  clock: Clock;
  /** Records audit and source events (the hub's event log). */
  emit: ConsoleEmit;
  limits?: ConsoleLimits;
  /** History ring per node, bytes (default 256 KiB). */
  historyBytes?: number;
}

/** Lines `GET /console` answers by default, and the most it answers. */
export const DEFAULT_HISTORY_LINES = 200;
export const MAX_HISTORY_LINES = 20_000;

/** How a boot marker line in a console begins. */
export const BOOT_MARK = "────── cluster-hub:";

/** Every node's console. */
export class Consoles {
  readonly #consoles = new Map<number, NodeConsole>();

  constructor(opts: ConsolesOptions) {
    if (opts.dir !== null && opts.sources.size > 0) {
      Deno.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      Deno.chmodSync(opts.dir, 0o700);
    }
    for (const [node, source] of [...opts.sources].sort((a, b) => a[0] - b[0])) {
      const file = opts.dir === null ? null : join(opts.dir, `${nodeHostname(node)}.log`);
      const log = new ConsoleLog(file, opts.historyBytes ?? CONSOLE_LOG_BYTES);
      this.#consoles.set(
        node,
        new NodeConsole(node, source, log, { clock: opts.clock, emit: opts.emit }, opts.limits),
      );
    }
  }

  /** Starts capturing every console. */
  start(): void {
    for (const c of this.#consoles.values()) c.start();
  }

  /** Nodes that have a console. */
  get nodes(): number[] {
    return [...this.#consoles.keys()];
  }

  /** Node `node`'s console; `not_found` when the bay has none. */
  console(node: number): NodeConsole {
    const c = this.#consoles.get(node);
    if (!c) {
      throw new ClusterError(
        "not_found",
        `node ${node} has no console: add it under "consoles" in the hardware config file (--power-config; see docs/console.md)`,
      );
    }
    return c;
  }

  /** History and state of node `node`'s console. */
  history(node: number, lines = DEFAULT_HISTORY_LINES): ConsoleHistory {
    return this.console(node).history(lines);
  }

  /**
   * Marks in node `node`'s console where a new boot begins (its rail went on at `at`), as
   * conserver marks its logs; nothing for a bay without a console.
   */
  markPowerOn(node: number, at: number): void {
    const stamp = new Date(at).toISOString().replace("T", " ").slice(0, 19);
    this.#consoles.get(node)?.mark(`${BOOT_MARK} node ${node} powered on ${stamp} UTC ──────`);
  }

  /** Closes every viewer and source (before the event log closes). */
  async close(): Promise<void> {
    await Promise.all([...this.#consoles.values()].map((c) => c.close()));
  }
}
