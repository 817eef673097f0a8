import assert from "node:assert/strict";
import { parseHookLine, parseLeaseFile } from "../../hub/netboot/runtime/leases.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import { FakeClock } from "../support/fakes/fake_clock.ts";
import { LeaseWatcher, MAX_UNKNOWN } from "../../hub/netboot/runtime/lease_watcher.ts";
import type { MacTable } from "../../hub/netboot/runtime/mac_learner.ts";

Deno.test("parseLeaseFile reads dnsmasq's lease database", () => {
  const text = "1700000600 b8:27:eb:00:00:07 10.42.0.7 node07 01:b8:27:eb:00:00:07\n" +
    "1700000700 DC:A6:32:00:00:01 10.42.0.100 * *\n" +
    "duid 00:01:00:01:2c:aa\n\n";
  assert.deepEqual(parseLeaseFile(text), [
    { expiresAt: 1700000600000, mac: "b8:27:eb:00:00:07", ip: "10.42.0.7", hostname: "node07" },
    { expiresAt: 1700000700000, mac: "dc:a6:32:00:00:01", ip: "10.42.0.100", hostname: null },
  ]);
});

Deno.test("parseHookLine reads our hook's lines and rejects others", () => {
  assert.deepEqual(parseHookLine("1700000000 add B8:27:EB:00:00:07 10.42.0.101 raspberrypi"), {
    at: 1700000000000,
    action: "add",
    mac: "b8:27:eb:00:00:07",
    ip: "10.42.0.101",
    hostname: "raspberrypi",
  });
  assert.equal(parseHookLine("1700000000 del b8:27:eb:00:00:07 10.42.0.101 *")?.hostname, null);
  assert.equal(parseHookLine("1700000000 tftp 1234 10.42.0.7 /pxe/boot/start.elf"), null);
  assert.equal(parseHookLine("garbage"), null);
  assert.equal(parseHookLine(""), null);
});

Deno.test("LeaseWatcher tails appended lines (partial lines wait), learns and handles truncation", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/events.log`;
  try {
    const rows = new Map<number, string>();
    const table: MacTable = { all: () => new Map(rows), set: (n, m) => void rows.set(n, m) };
    const events: string[] = [];
    const learned: number[] = [];
    const clock = new FakeClock();
    const since = clock.now();
    await Deno.writeTextFile(file, `${since / 1000 - 100} add b8:27:eb:00:00:99 10.42.0.120 *\n`);
    const w = new LeaseWatcher({
      map: buildNodeMap(),
      eventsFile: file,
      table,
      emit: (type, node) => events.push(`${type}:${node}`),
      target: () => (rows.has(4) ? null : { node: 4, since }),
      clock,
      onLearned: (n) => void learned.push(n),
    });
    assert.deepEqual(await w.poll(), []); // existing content is history, skipped
    const t = since / 1000;
    await Deno.writeTextFile(
      file,
      `${t} add b8:27:eb:00:00:04 10.42.0.101 *\n${t} add b8:27:eb:00`,
      {
        append: true,
      },
    );
    const first = await w.poll();
    assert.deepEqual(first.map((d) => d.kind), ["learn"]);
    assert.deepEqual(rows, new Map([[4, "b8:27:eb:00:00:04"]]));
    assert.deepEqual(learned, [4]);
    await Deno.writeTextFile(file, `:00:05 10.42.0.102 *\n`, { append: true });
    const second = await w.poll();
    assert.deepEqual(second.map((d) => d.kind), ["unknown"]); // nobody waits any more
    assert.deepEqual(w.unknownMacs().map((u) => u.mac), ["b8:27:eb:00:00:05"]);
    // rotation: file replaced by a shorter one is read from its start
    await Deno.writeTextFile(file, `${t} old b8:27:eb:00:00:04 10.42.0.4 node04\n`);
    assert.deepEqual((await w.poll()).map((d) => d.kind), ["known"]);
    assert.deepEqual(events, ["mac_learned:4"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A watcher on a fresh events file in a temp dir, reading it from its start. */
async function withWatcher(
  extra: Partial<ConstructorParameters<typeof LeaseWatcher>[0]>,
  fn: (
    ctx: { file: string; rows: Map<number, string>; w: LeaseWatcher; events: string[] },
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/events.log`;
  try {
    const rows = new Map<number, string>();
    // like the hub's store: refuses to overwrite a bay's MAC
    const table: MacTable = {
      all: () => new Map(rows),
      set: (n, m) => {
        if (rows.has(n)) throw new Error(`node ${n} already has a MAC`);
        rows.set(n, m);
      },
    };
    const events: string[] = [];
    const w = new LeaseWatcher({
      map: buildNodeMap(),
      eventsFile: file,
      table,
      emit: (type, node) => events.push(`${type}:${node}`),
      target: () => null,
      clock: new FakeClock(),
      fromStart: true,
      ...extra,
    });
    await fn({ file, rows, w, events });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("LeaseWatcher: a line whose handling throws is reported; the rest of the chunk is not lost", async () => {
  const since = 1_700_000_000_000;
  const t = since / 1000;
  await withWatcher({
    target: () => ({ node: 4, since }),
    onLearned: () => Promise.reject(new Error("apply failed: disk full")),
  }, async ({ file, rows, w, events }) => {
    await Deno.writeTextFile(
      file,
      `${t} add b8:27:eb:00:00:04 10.42.0.101 *\n` + // learned, then onLearned throws
        `${t} add b8:27:eb:00:00:44 10.42.0.102 *\n`, // same chunk: a second new MAC
    );
    const decided = await w.poll();
    assert.deepEqual(decided.map((d) => d.kind), ["conflict"]); // the throwing line has none
    assert.deepEqual(rows, new Map([[4, "b8:27:eb:00:00:04"]]));
    assert.deepEqual(events, ["mac_learned:4", "fault:null", "mac_conflict:4"]);
    assert.deepEqual(await w.poll(), []); // nothing re-read, nothing skipped
  });
});

Deno.test("LeaseWatcher remembers at most MAX_UNKNOWN unknown MACs, forgetting the least recent", async () => {
  await withWatcher({}, async ({ file, w }) => {
    const mac = (i: number) =>
      `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${
        (i & 255).toString(16).padStart(2, "0")
      }`;
    const n = MAX_UNKNOWN + 44;
    const lines = Array.from({ length: n }, (_, i) => `1700000000 add ${mac(i)} 10.42.0.120 *`);
    lines.push(`1700000001 old ${mac(0)} 10.42.0.120 *`); // seen again: now the newest
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    await w.poll();
    const unknown = w.unknownMacs().map((u) => u.mac);
    assert.equal(unknown.length, MAX_UNKNOWN);
    assert.equal(unknown.at(-1), mac(0));
    assert.equal(unknown[0], mac(n - MAX_UNKNOWN + 1));
    assert.ok(!unknown.includes(mac(1)));
  });
});

Deno.test("LeaseWatcher learns from a renewal in the learning range (script-on-renewal)", async () => {
  const since = 1_700_000_000_000;
  await withWatcher({
    target: () => ({ node: 9, since }),
    learningRange: { first: 100, last: 149 },
  }, async ({ file, rows, w, events }) => {
    await Deno.writeTextFile(file, `${since / 1000 + 2} old b8:27:eb:00:00:09 10.42.0.101 *\n`);
    assert.deepEqual((await w.poll()).map((d) => d.kind), ["learn"]);
    assert.deepEqual(rows, new Map([[9, "b8:27:eb:00:00:09"]]));
    assert.deepEqual(events, ["mac_learned:9"]);
  });
});
