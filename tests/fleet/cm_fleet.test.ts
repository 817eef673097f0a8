/**
 * `cm` across hubs: the hubs file, `--hub NAME`, `-A` with a down and a slow hub, `MODULE:N`
 * routed to the right hub, spanning sets with their plan, module collisions reported.
 */
import assert from "node:assert/strict";
import { runCli } from "../../hub/cli/main.ts";
import { type ServedHub, serveTestHub } from "../support/test_hub.ts";

interface Fleet {
  dir: string;
  hubsFile: string;
  hubs: ServedHub[];
}

async function cm(f: Fleet, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const env = (n: string) =>
    ({ CM_HUBS: f.hubsFile, CM_DATA_DIR: "/nonexistent", HOME: f.dir } as Record<string, string>)[
      n
    ];
  const started = performance.now();
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, out: out.join("\n"), err: err.join("\n"), ms: performance.now() - started };
}

async function withFleet(modules: string[], fn: (f: Fleet) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "cm-fleet-" });
  const hubs: ServedHub[] = [];
  try {
    for (const module of modules) hubs.push(await serveTestHub({ settings: { module } }));
    const tokenFile = `${dir}/token`;
    await Deno.writeTextFile(tokenFile, "test-admin-token\n");
    const f = { dir, hubsFile: `${dir}/cm/hubs.json`, hubs };
    for (const [i, h] of hubs.entries()) {
      const r = await cm(f, ["hubs", "add", `hub${i + 1}`, h.url, "--token-file", tokenFile]);
      assert.equal(r.code, 0, r.err);
    }
    await fn(f);
  } finally {
    for (const h of hubs) {
      await h.close();
      await Deno.remove(h.dataDir, { recursive: true });
    }
    await Deno.remove(dir, { recursive: true });
  }
}

/** A TCP port that accepts connections and never answers (a hung hub). */
function silentServer(): { url: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** A loopback port nothing listens on (a hub that is down). */
function deadUrl(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("cm hubs add|list|remove keep the hubs file; modules are learned; bad input is clear", () =>
  withFleet(["A", "B"], async (f) => {
    const file = JSON.parse(await Deno.readTextFile(f.hubsFile));
    assert.deepEqual(file.hubs.map((h: { name: string; module: string }) => [h.name, h.module]), [
      ["hub1", "A"],
      ["hub2", "B"],
    ]);
    assert.equal((await Deno.stat(f.hubsFile)).mode! & 0o777, 0o600);
    let r = await cm(f, ["hubs", "list"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /hub1\s+A\s+http:\/\/127\.0\.0\.1:\d+\s+file\s+plain http/);
    r = await cm(f, ["hubs", "add", "hub1", f.hubs[0].url]);
    assert.equal(r.code, 1);
    assert.match(r.err, /already in/);
    r = await cm(f, ["hubs", "add", "x", "ftp://h"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /http:\/\/ or https:\/\//);
    r = await cm(f, ["hubs", "remove", "hub2"]);
    assert.equal(r.code, 0, r.err);
    r = await cm(f, ["--hub", "hub2", "status"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no hub named "hub2".*\(hubs: hub1\)/);
    // --hub NAME talks to that hub, with its token file.
    r = await cm(f, ["--hub", "hub1", "power", "5", "on"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(f.hubs[0].hub.status.node(5).power.actual, "on");
  }));

Deno.test("cm -A status: every hub in parallel; a down and a hung hub are named, set the exit code, block nobody", () =>
  withFleet(["A", "B", "C"], async (f) => {
    const hung = silentServer();
    try {
      const file = JSON.parse(await Deno.readTextFile(f.hubsFile));
      file.hubs.push({ name: "dead", url: deadUrl() }, { name: "hung", url: hung.url });
      await Deno.writeTextFile(f.hubsFile, JSON.stringify(file));
      // A deadline a loaded machine's live hubs meet; the hung one is given up at it.
      const r = await cm(f, ["-A", "--timeout", "4", "status"]);
      assert.equal(r.code, 1, r.err);
      for (const m of ["A", "B", "C"]) {
        assert.match(r.out, new RegExp(`== hub\\d · module ${m} · http`));
        assert.match(r.out, new RegExp(`module ${m} \\(60 bays`));
      }
      assert.match(r.out, /== dead \(http:\/\/127\.0\.0\.1:\d+\): DOWN: cannot reach hub dead/);
      assert.match(r.out, /== hung \(http:\/\/127\.0\.0\.1:\d+\): DOWN: no answer within 4 s/);
      assert.match(r.err, /3 of 5 hubs answered; failed: dead .*; hung/);
      // The hung hub costs its deadline, not more (and the dead one nothing).
      assert.ok(r.ms < 4000 + 3000, `took ${r.ms} ms`);
      // All alive: exit 0.
      const alive = await cm(f, ["-A", "--timeout", "4", "status", "--json"]);
      assert.equal(alive.code, 1); // dead and hung still listed
      const doc = JSON.parse(alive.out);
      assert.deepEqual(doc.hubs.map((h: { ok: boolean }) => h.ok), [
        true,
        true,
        true,
        false,
        false,
      ]);
      assert.equal(doc.hubs[0].result.length, 60);
    } finally {
      hung.close();
    }
  }));

Deno.test("cm power MODULE:N powers exactly that node of that module; spanning sets show the plan", () =>
  withFleet(["A", "B"], async (f) => {
    const [a, b] = f.hubs;
    let r = await cm(f, ["power", "B:7", "on"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(b.hub.status.node(7).power.actual, "on");
    assert.equal(a.hub.status.node(7).power.actual, "off");
    r = await cm(f, ["power", "A:3,B:4", "on"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /power takes nodes of one module; .* use powerall/);
    r = await cm(f, ["powerall", "on", "A:1-2,B:9,A:4"]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /plan: powerall across 2 modules/);
    assert.match(r.out, /module A \(hub hub1, http:[^)]+\): nodes 1-2,4/);
    assert.match(r.out, /module B \(hub hub2, http:[^)]+\): nodes 9/);
    const on = (t: ServedHub) =>
      t.hub.status.nodes().filter((n) => n.power.actual === "on").map((n) => n.id);
    assert.deepEqual(on(a), [1, 2, 4]);
    assert.deepEqual(on(b), [7, 9]);
    r = await cm(f, ["power", "Z:1", "on"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no hub in .* serves module Z \(known: A \(hub1\), B \(hub2\)\)/);
    // -A led and -A events: each event names its module and node.
    r = await cm(f, ["-A", "led", "3", "identify"]);
    assert.equal(r.code, 0, r.err);
    r = await cm(f, ["-A", "events", "--limit", "50"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /B:7 +power_changed/);
    assert.match(r.out, /A:3 +led_changed/);
    assert.match(r.out, /B:3 +led_changed/);
    r = await cm(f, ["-A", "events", "3", "--lines", "50"]); // cm events' SET, on every hub
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /A:3 +led_changed/);
    assert.doesNotMatch(r.out, /B:7 /);
    r = await cm(f, ["-A", "events", "-f"]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /cannot follow/);
  }));

Deno.test("two hubs serving one module: reported, never merged; MODULE:N refused", () =>
  withFleet(["X", "X", "Y"], async (f) => {
    let r = await cm(f, ["-A", "status"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /module X is served by 2 hubs \(hub1, hub2\): .*not merged/);
    r = await cm(f, ["power", "X:3", "on"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /module X is served by 2 hubs/);
    for (const h of f.hubs) assert.equal(h.hub.status.node(3).power.actual, "off");
    r = await cm(f, ["power", "Y:3", "on"]);
    assert.equal(r.code, 0, r.err);
  }));
