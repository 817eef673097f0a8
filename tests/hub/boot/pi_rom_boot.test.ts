/**
 * Boot supervision of a Pi 3B+ whose boot ROM does what the Raspberry Pi documentation says it
 * does, on a fake clock: it sends DHCPDISCOVER up to five times, 5 s apart, never a REQUEST,
 * fetches bootcode.bin right after an OFFER it accepts, and after the fifth unanswered try
 * stays off until its power is cycled. The dnsmasq lines fed are those the real dnsmasq wrote
 * in the ROM replay (`tests/netboot/pi_rom_replay.test.ts`, same format, see
 * `tests/fixtures/dnsmasq/pi-rom-replay.log`).
 */
import assert from "node:assert/strict";
import { FakeClock } from "../../support/fakes/fake_clock.ts";
import { startTestHub, type TestHub } from "../../support/test_hub.ts";

const MAC = "b8:27:eb:42:00:07";
const NODE = 7;
const FIXTURE = new URL("../../fixtures/dnsmasq/pi-rom-replay.log", import.meta.url);

/** The real dnsmasq's lines of the replay, by what they are. */
async function replayLines() {
  const lines = (await Deno.readTextFile(FIXTURE)).split("\n").filter((l) => l.trim());
  const xid = (l: string) => / (\d+) DHCP/.exec(l)?.[1];
  const romXid = "653460281"; // 0x26f30339, the ROM's constant transaction id
  const rom = (l: string) => xid(l) === romXid && l.includes(MAC);
  const found = {
    discover: lines.filter((l) => rom(l) && l.includes("DHCPDISCOVER")),
    offer: lines.filter((l) => rom(l) && l.includes("DHCPOFFER")),
    tftp: lines.filter((l) => / (sent \S+ to|file \S+ not found for) 10\.42\.0\.7$/.test(l)),
    all: lines,
  };
  assert.ok(found.discover.length && found.offer.length, "the fixture has the ROM's DHCP");
  assert.ok(found.tftp.length >= 8, `the fixture has the ROM's TFTP: ${found.tftp.length}`);
  return found;
}

/** A hub with the product's default boot deadlines (the vendor's) on a fake clock. */
async function hubOnFakeClock(): Promise<{ t: TestHub; clock: FakeClock }> {
  const clock = new FakeClock(Date.UTC(2026, 11, 6));
  const t = await startTestHub({
    overrides: {
      clock,
      nodeForMac: (m) => (m === MAC ? NODE : undefined),
      netbootObserved: true,
      recovery: { retries: 2, backoffMs: 5_000 },
    },
  });
  return { t, clock };
}

/** Switches NODE on with supervision and lets the power job finish on the fake clock. */
async function powerOn(t: TestHub, clock: FakeClock): Promise<void> {
  const res = await t.call("POST", `/api/v1/nodes/${NODE}/power?wait=false`, {
    state: "on",
    supervise: true,
  });
  assert.equal(res.status, 202, await res.text());
  const end = performance.now() + 10_000; // the job also does real I/O (the store)
  while (t.hub.boot.timelines(NODE).latest?.state !== "booting" && performance.now() < end) {
    await clock.advance(10);
  }
  assert.equal(t.hub.boot.timelines(NODE).latest?.state, "booting");
}

/** Advances the fake clock to `ms` after the latest power-on. */
async function until(t: TestHub, clock: FakeClock, ms: number): Promise<void> {
  const at = t.hub.boot.timelines(NODE).latest!.poweredOnAt + ms;
  while (clock.now() < at) await clock.advance(Math.min(250, at - clock.now()));
}

function bootEvents(t: TestHub): string[] {
  return t.hub.events.latest(1000).filter((e) => e.node === NODE && e.type.startsWith("boot_"))
    .map((e) => `${e.type} ${e.data.stage ?? ""}`.trim());
}

Deno.test("a 3B+ ROM that gets its answer on the fourth DISCOVER is not power-cycled mid-try", async () => {
  const r = await replayLines();
  const { t, clock } = await hubOnFakeClock();
  try {
    await powerOn(t, clock);
    // the vendor's timing: the firmware self test takes ~28 s before the ROM's first DISCOVER;
    // the first three offers are missed (firmware#934: an instant reply can be lost), the
    // fourth is taken and bootcode.bin follows at once. No REQUEST, no ACK, ever.
    for (const s of [28, 33, 38]) {
      await until(t, clock, s * 1000);
      t.hub.boot.ingestLine(r.discover[0]);
      t.hub.boot.ingestLine(r.offer[0]);
    }
    await until(t, clock, 43_000);
    t.hub.boot.ingestLine(r.discover[0]);
    t.hub.boot.ingestLine(r.offer[0]);
    await until(t, clock, 43_100);
    for (const l of r.tftp) t.hub.boot.ingestLine(l);
    await until(t, clock, 59_000);
    const tl = t.hub.boot.timelines(NODE).latest!;
    assert.equal(tl.state, "booting", `stalled before ${tl.stalledAt}: ${bootEvents(t)}`);
    assert.equal(tl.attempt, 1, "no power cycle");
    assert.deepEqual(tl.stages.map((m) => m.stage), ["power_on", "dhcp_discover", "tftp"]);
    assert.deepEqual(tl.tftp.slice(0, 2).map((x) => `${x.file} ${x.ok}`), [
      "bootcode.bin true",
      "bootsig.bin false",
    ]);
    assert.ok(!bootEvents(t).some((e) => e.startsWith("boot_timeout")), `${bootEvents(t)}`);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("a 3B+ ROM that gave up after five DISCOVERs 5 s apart is power-cycled", async () => {
  const r = await replayLines();
  const { t, clock } = await hubOnFakeClock();
  try {
    await powerOn(t, clock);
    // five DISCOVERs, each offered (the ROM ignores them), then silence: the ROM is off
    for (const s of [28, 33, 38, 43, 48]) {
      await until(t, clock, s * 1000);
      t.hub.boot.ingestLine(r.discover[0]);
      t.hub.boot.ingestLine(r.offer[0]);
    }
    await until(t, clock, 52_000);
    assert.equal(t.hub.boot.timelines(NODE).latest!.state, "booting", "still within its tries");
    await until(t, clock, 54_000);
    const stalled = t.hub.boot.timelines(NODE).latest!;
    assert.equal(stalled.state, "stalled", `${bootEvents(t)}`);
    assert.equal(stalled.stalledAt, "dhcp_ack");
    // recovery: a power cycle after the 5 s backoff starts attempt 2
    const end = performance.now() + 20_000;
    while (t.hub.boot.timelines(NODE).latest!.attempt < 2 && performance.now() < end) {
      await clock.advance(100);
    }
    const again = t.hub.boot.timelines(NODE);
    assert.equal(again.latest!.attempt, 2, `${bootEvents(t)}`);
    assert.equal(again.latest!.state, "booting");
    assert.equal(again.previous!.stalledAt, "dhcp_ack");
    const cycles = t.hub.events.latest(1000).filter((e) =>
      e.type === "boot_recovery" && e.node === NODE
    );
    assert.equal(cycles.length, 1);
    assert.ok(
      t.hub.events.latest(1000).some((e) =>
        e.type === "power_changed" && e.node === NODE && e.data.to === "off"
      ),
      "the rail went off and on again",
    );
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
