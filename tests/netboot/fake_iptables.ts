/**
 * A model of iptables for the supervisor tests, as far as the hub uses it:
 * `iptables-restore [--noflush] FILE` (without --noflush every table named in the file is
 * flushed and its user chains deleted, as the real one does), and `iptables -t T -C|-I|-S`.
 * Built-in policies are kept; `-C` answers 1 with iptables' message when the rule is absent.
 */
import type { RunResult } from "../../hub/netboot/runtime/process_runner.ts";
import type { FakeProcessRunner } from "../support/fakes/fake_process_runner.ts";

const BUILTIN: Record<string, string[]> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
};

const ok = (stdout = ""): RunResult => ({ code: 0, stdout, stderr: "" });
const err = (code: number, stderr: string): RunResult => ({ code, stdout: "", stderr });

/** Tables → chains → rules (each rule as written after `-A CHAIN `). */
export class FakeIptables {
  readonly tables = new Map<string, Map<string, string[]>>(
    Object.entries(BUILTIN).map(([t, cs]) => [t, new Map(cs.map((c) => [c, []]))]),
  );

  /** Serves `iptables` and `iptables-restore` on `runner`. */
  install(runner: FakeProcessRunner): void {
    runner.commands.set("iptables", (args) => this.iptables(args));
    runner.commands.set("iptables-restore", (args) => this.restore(args));
  }

  /** `iptables -t TABLE -S` lines of one table (or one chain). */
  save(table: string, only?: string): string[] {
    const t = this.tables.get(table)!;
    const out: string[] = [];
    for (const [c] of t) {
      if (only && c !== only) continue;
      out.push(BUILTIN[table].includes(c) ? `-P ${c} ACCEPT` : `-N ${c}`);
    }
    for (const [c, rules] of t) {
      if (only && c !== only) continue;
      for (const r of rules) out.push(`-A ${c} ${r}`);
    }
    return out;
  }

  iptables(args: string[]): RunResult {
    let table = "filter";
    const a = [...args];
    if (a[0] === "-t") {
      table = a[1];
      a.splice(0, 2);
    }
    const t = this.tables.get(table);
    if (!t) return err(3, `iptables v1.8.9: can't initialize iptables table '${table}'`);
    const [op, chain, ...rest] = a;
    if (op === "-S") {
      if (chain && !t.has(chain)) return err(1, "iptables: No chain/target/match by that name.");
      return ok(this.save(table, chain).join("\n") + "\n");
    }
    const rules = t.get(chain);
    if (!rules) return err(1, "iptables: No chain/target/match by that name.");
    if (op === "-C") {
      if (!t.has(rest[rest.indexOf("-j") + 1])) {
        return err(2, "iptables v1.8.9: Couldn't load target");
      }
      return rules.includes(rest.join(" "))
        ? ok()
        : err(1, "iptables: Bad rule (does a matching rule exist in that chain?).");
    }
    if (op === "-I") {
      const pos = /^[0-9]+$/.test(rest[0]) ? Number(rest.shift()) : 1;
      rules.splice(pos - 1, 0, rest.join(" "));
      return ok();
    }
    if (op === "-A") {
      rules.push(rest.join(" "));
      return ok();
    }
    return err(2, `fake iptables: unsupported ${args.join(" ")}`);
  }

  restore(args: string[]): RunResult {
    const noflush = args.includes("--noflush");
    const file = args.filter((x) => !x.startsWith("-"))[0];
    const text = Deno.readTextFileSync(file);
    // parse all, then commit table by table (the real one is atomic per table)
    let table: string | null = null;
    let work: Map<string, string[]> | null = null;
    for (const [i, raw] of text.split("\n").entries()) {
      const line = raw.trim();
      const bad = (why: string) => err(2, `iptables-restore: line ${i + 1} failed: ${why}`);
      if (!line || line.startsWith("#")) continue;
      if (line.startsWith("*")) {
        table = line.slice(1);
        const cur = this.tables.get(table);
        if (!cur) return bad(`no table ${table}`);
        work = new Map([...cur].map(([c, r]) => [c, noflush ? [...r] : []]));
        if (!noflush) {
          for (const c of work.keys()) if (!BUILTIN[table].includes(c)) work.delete(c);
        }
      } else if (line === "COMMIT") {
        if (!table || !work) return bad("COMMIT outside a table");
        this.tables.set(table, work);
        table = null;
        work = null;
      } else if (!work) return bad("rule outside a table");
      else if (line.startsWith(":")) {
        const [name] = line.slice(1).split(" ");
        if (!work.has(name)) work.set(name, []);
      } else {
        const [op, chain, ...rest] = line.split(/\s+/);
        const rules = work.get(chain);
        if (!rules) return bad(`no chain ${chain}`);
        if (op === "-F") rules.length = 0;
        else if (op === "-A") rules.push(rest.join(" "));
        else return bad(`unsupported ${op}`);
      }
    }
    return ok();
  }
}
