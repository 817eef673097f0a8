/**
 * /proc sampling for the benchmarks (Linux; Deno reads /proc only with --allow-all): CPU ticks
 * of a process or a process tree, RSS and other `kB` fields of `status`, open fds, voluntary
 * context switches, the load average and the machine's description.
 */

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on every Linux we run). */
export const CLK_TCK = 100;

/** The fields of /proc/PID/stat after `(comm)`: [0] is the state (field 3 of proc(5)). */
export function statFields(pid: number): string[] | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in clock ticks (fields 14 and 15); throws when it is gone. */
export function cpuTicks(pid: number): number {
  const f = statFields(pid);
  if (!f) throw new Error(`process ${pid} is gone`);
  return Number(f[11]) + Number(f[12]);
}

/**
 * utime + stime + cutime + cstime of a process, in clock ticks (fields 14 to 17): with the
 * children it has waited for. Throws when it is gone.
 */
export function cpuTicksWithChildren(pid: number): number {
  const f = statFields(pid);
  if (!f) throw new Error(`process ${pid} is gone`);
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** pid → parent pid, for every process. */
function parents(): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    const f = statFields(Number(e.name));
    if (f) m.set(Number(e.name), Number(f[1]));
  }
  return m;
}

/** `root` and all its descendants, parents before children. */
export function processTree(root: number): number[] {
  const pp = parents();
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of pp) if (ppid === out[i]) out.push(pid);
  }
  return out;
}

/**
 * CPU ticks of a process tree: utime + stime + cutime + cstime of each member (a reaped child's
 * time is in its parent's cutime/cstime, so nothing is counted twice).
 */
export function treeCpuTicks(root: number): number {
  let t = 0;
  for (const pid of processTree(root)) {
    try {
      t += cpuTicksWithChildren(pid);
    } catch { /* ended in between */ }
  }
  return t;
}

/**
 * A `kB` field of /proc/PID/status (`VmRSS`, `RssAnon`, `RssFile`, …) in KiB; NaN when the
 * process has no such line (a zombie). Throws when the process is gone.
 */
export function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+([0-9]+) kB`, "m")
    .exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Number(m[1]) : NaN;
}

/** VmRSS of a process in MiB (NaN for a zombie); throws when it is gone. */
export function rssMiB(pid: number): number {
  return statusKiB(pid, "VmRSS") / 1024;
}

/** VmRSS of a process tree, KiB (a member that ended or has none counts 0). */
export function treeRssKiB(root: number): number {
  let kib = 0;
  for (const pid of processTree(root)) {
    try {
      kib += statusKiB(pid, "VmRSS") || 0;
    } catch { /* ended in between */ }
  }
  return kib;
}

/** Open file descriptors of a process; throws when it is gone. */
export function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/**
 * Voluntary context switches of every thread of `pid`, by thread id: each is a sleep that
 * ended, i.e. a wake-up (involuntary ones are preemptions, which count the machine's load).
 */
export function contextSwitches(pid: number): Map<string, number> {
  const n = new Map<string, number>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/status`);
      n.set(t.name, Number(/^voluntary_ctxt_switches:\s+([0-9]+)/m.exec(s)?.[1] ?? 0));
    } catch { /* the thread ended */ }
  }
  return n;
}

/**
 * Switches between two samples, thread by thread: a thread that ended in between (Deno's
 * idle blocking-pool threads end after 10 s) takes its count with it, so sums would not do.
 */
export function switchesBetween(a: Map<string, number>, b: Map<string, number>): number {
  let n = 0;
  for (const [tid, count] of b) n += count - (a.get(tid) ?? 0);
  return n;
}

/** The last PID handed out in the PID namespace of `pid` (read from inside it, with nsenter). */
export async function nsLastPid(pid: number): Promise<number | undefined> {
  const out = await new Deno.Command("nsenter", {
    args: ["-t", String(pid), "-p", "cat", "/proc/sys/kernel/ns_last_pid"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  return out?.success ? Number(new TextDecoder().decode(out.stdout).trim()) : undefined;
}

/** The 1, 5 and 15 minute load averages, as /proc/loadavg writes them ("n/a" if unreadable). */
export function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** The machine a benchmark ran on. */
export interface Machine {
  /** CPUs online (`nproc`). */
  nproc: number;
  /** The CPU's model name. */
  cpu: string;
  memGiB: number;
  deno: string;
}

/** Describes this machine from /proc/cpuinfo and /proc/meminfo. */
export function machine(): Machine {
  const read = (f: string) => {
    try {
      return Deno.readTextFileSync(f);
    } catch {
      return "";
    }
  };
  const memKiB = Number(/^MemTotal:\s+([0-9]+)/m.exec(read("/proc/meminfo"))?.[1] ?? NaN);
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.*)$/m.exec(read("/proc/cpuinfo"))?.[1]?.trim() ?? "unknown",
    memGiB: memKiB / 1024 / 1024,
    deno: Deno.version.deno,
  };
}

/** Peak RSS (MiB) and open fds of a process, sampled every `everyMs` until stopped. */
export function peakSampler(pid: number, everyMs = 100): {
  stop(): Promise<{ peakRssMiB: number; peakFds: number }>;
} {
  let peakRssMiB = 0, peakFds = 0, run = true;
  const done = (async () => {
    while (run) {
      try {
        peakRssMiB = Math.max(peakRssMiB, rssMiB(pid) || 0);
        peakFds = Math.max(peakFds, fdCount(pid));
      } catch { /* exited */ }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      run = false;
      await done;
      return { peakRssMiB, peakFds };
    },
  };
}
