/**
 * LED edges as the benchmarks observe them: a level change with its time, a sysfs-like value
 * file watched with inotify (`Deno.watchFs`), and the percentile the edge figures use.
 */

/** An observed level change, at wall-clock ms (performance.timeOrigin + now). */
export interface Edge {
  at: number;
  value: 0 | 1;
}

/** The p-th percentile of sorted numbers (nearest rank); NaN for none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Edges recorded from file events, and how to stop watching. */
export interface EdgeWatch {
  edges: Edge[];
  stop(): Promise<void>;
}

/**
 * Watches `path` with inotify; `record` sees each event with its time and pushes the edges it
 * means.
 */
export function watchEdges(
  path: string,
  record: (ev: Deno.FsEvent, at: number, edges: Edge[]) => void,
): EdgeWatch {
  const edges: Edge[] = [];
  const watcher = Deno.watchFs(path, { recursive: false });
  const done = (async () => {
    for await (const ev of watcher) record(ev, performance.timeOrigin + performance.now(), edges);
  })();
  return {
    edges,
    async stop() {
      watcher.close();
      await done;
    },
  };
}

/**
 * Watches a value file (`0` or `1`, as a GPIO's sysfs `value`) in `dir` with inotify: its
 * level changes. `initial` is the level taken as known before the first event (default none:
 * the first level read is an edge).
 */
export function watchValue(dir: string, file: string, initial: "" | "0" | "1" = ""): EdgeWatch {
  let last: string = initial;
  return watchEdges(dir, (ev, at, edges) => {
    if (ev.kind !== "modify" && ev.kind !== "create") return;
    let text: string;
    try {
      text = Deno.readTextFileSync(file).trim();
    } catch {
      return;
    }
    if ((text === "0" || text === "1") && text !== last) {
      last = text;
      edges.push({ at, value: Number(text) as 0 | 1 });
    }
  });
}
