/** The boot timeline state machine (pure): stages, inferred NFS root, deadlines, stalls. */
import assert from "node:assert/strict";
import {
  applySignal,
  type BootTimeouts,
  endTimeline,
  nextDeadline,
  overdueStage,
  scaleBootTimeouts,
  stageDeadline,
  stall,
  startTimeline,
  VENDOR_BOOT_TIMEOUTS,
} from "../../../hub/boot/timeline.ts";
import type { BootTimeline } from "../../../shared/boot_schemas.ts";

const T: BootTimeouts = { dhcp_discover: 30, dhcp_ack: 40, tftp: 60, heartbeat: 120, running: 150 };

function feed(t: BootTimeline, ...signals: Parameters<typeof applySignal>[1][]) {
  for (const s of signals) t = applySignal(t, s).timeline;
  return t;
}

Deno.test("timeline: a netboot walks every stage, the NFS root inferred from the first heartbeat", () => {
  let t = startTimeline(7, 1000, 1, true);
  t = feed(
    t,
    { kind: "dhcp_discover", at: 1010, detail: "DISCOVER" },
    { kind: "dhcp_request", at: 1020, detail: "REQUEST" },
    { kind: "dhcp_ack", at: 1021, detail: "ACK" },
    { kind: "tftp", at: 1030, file: "bootcode.bin", ip: "10.42.0.7", ok: true },
    { kind: "tftp", at: 1031, file: "kernel8.img", ip: "10.42.0.7", ok: false },
    { kind: "tftp", at: 1032, file: "start.elf", ip: "10.42.0.7", ok: true },
  );
  assert.equal(t.tftp.length, 3);
  const first = applySignal(t, { kind: "heartbeat", at: 1100, seq: 0 });
  assert.deepEqual(first.reached.map((m) => [m.stage, m.inferred]), [
    ["nfs_root", true],
    ["heartbeat", false],
  ]);
  t = feed(first.timeline, { kind: "heartbeat", at: 1110, seq: 1 });
  assert.equal(t.state, "running");
  assert.equal(t.endedAt, 1110);
  assert.deepEqual(t.stages.map((m) => [m.stage, m.at]), [
    ["power_on", 1000],
    ["dhcp_discover", 1010],
    ["dhcp_request", 1020],
    ["dhcp_ack", 1021],
    ["tftp", 1030],
    ["nfs_root", 1100],
    ["heartbeat", 1100],
    ["running", 1110],
  ]);
  assert.equal(applySignal(t, { kind: "heartbeat", at: 1200, seq: 2 }).timeline, t, "ended");
  assert.equal(nextDeadline(t, T), null);
});

Deno.test("timeline: deadlines count from power-on; the first stage not reached in time stalls", () => {
  let t = startTimeline(2, 0, 1, true);
  assert.equal(nextDeadline(t, T), 30);
  assert.equal(overdueStage(t, 29, T), null);
  t = feed(t, { kind: "dhcp_discover", at: 5, detail: "DISCOVER … no address available" });
  assert.equal(nextDeadline(t, T), 40);
  assert.equal(overdueStage(t, 39, T), null);
  assert.equal(overdueStage(t, 40, T), "dhcp_ack", "never got a lease");
  t = stall(t, "dhcp_ack", 40);
  assert.equal(t.state, "stalled");
  assert.equal(t.stalledAt, "dhcp_ack");
  assert.equal(overdueStage(t, 1000, T), null, "a stalled boot is not overdue again");
});

Deno.test("timeline: a later stage covers a missed earlier line; unobserved bays wait for heartbeats", () => {
  // The DISCOVER line was missed (log started late): the ACK passes that deadline too.
  let t = feed(startTimeline(3, 0, 1, true), { kind: "dhcp_ack", at: 10, detail: "ACK" }, {
    kind: "tftp",
    at: 12,
    file: "start.elf",
    ip: "10.42.0.3",
    ok: true,
  });
  assert.equal(overdueStage(t, 100, T), null);
  assert.equal(overdueStage(t, 120, T), "heartbeat", "lease, TFTP, but no heartbeat");
  // A Zero W bay (or dnsmasq not observed): only heartbeat and running have deadlines.
  t = startTimeline(23, 0, 1, false);
  assert.equal(nextDeadline(t, T), 120);
  assert.equal(overdueStage(t, 119, T), null);
  t = feed(t, { kind: "heartbeat", at: 50, seq: 0 });
  assert.ok(!t.stages.some((m) => m.stage === "nfs_root"), "nothing inferred without netboot");
  assert.equal(overdueStage(t, 150, T), "running", "one heartbeat, then silence");
});

Deno.test("timeline: power-off ends a booting timeline; vendor deadlines scale", () => {
  const t = endTimeline(startTimeline(1, 0, 2, true), 500);
  assert.equal(t.state, "off");
  assert.equal(t.attempt, 2);
  assert.equal(overdueStage(t, 10_000, T), null);
  assert.equal(VENDOR_BOOT_TIMEOUTS.running, 150_000, "running about 2:30 after power-on");
  assert.equal(VENDOR_BOOT_TIMEOUTS.dhcp_discover, 30_000, "firmware self test about 30 s");
  assert.deepEqual(scaleBootTimeouts(VENDOR_BOOT_TIMEOUTS, 0.01), {
    dhcp_discover: 300,
    dhcp_ack: 400,
    tftp: 600,
    heartbeat: 1200,
    running: 1500,
  });
});

Deno.test("timeline: a Pi ROM's lease and first TFTP are not due within its five DHCP tries", () => {
  // power-on at 1000; the ROM's first DISCOVER at 1028: it may try until 1028 + 25
  let t = startTimeline(7, 1000, 1, true);
  t = feed(t, { kind: "dhcp_discover", at: 1028, detail: "DISCOVER" });
  assert.equal(stageDeadline(t, "dhcp_ack", T), 1040, "no window: the plain deadline");
  assert.equal(stageDeadline(t, "dhcp_ack", T, 25), 1053);
  assert.equal(stageDeadline(t, "tftp", T, 25), 1060, "the later of the two");
  assert.equal(stageDeadline(t, "heartbeat", T, 25), 1120, "later stages keep theirs");
  assert.equal(overdueStage(t, 1045, T, 25), null);
  assert.equal(overdueStage(t, 1045, T), "dhcp_ack");
  assert.equal(overdueStage(t, 1053, T, 25), "dhcp_ack");
  assert.equal(nextDeadline(t, T, 25), 1053);
  // the ROM takes an OFFER and fetches bootcode.bin: no REQUEST/ACK, and none is waited for
  t = feed(t, { kind: "tftp", at: 1044, file: "bootcode.bin", ip: "10.42.0.7", ok: true });
  assert.equal(overdueStage(t, 1100, T, 25), null);
  assert.equal(nextDeadline(t, T, 25), 1120);
  // no DISCOVER yet: the window does not apply
  const quiet = startTimeline(7, 1000, 1, true);
  assert.equal(stageDeadline(quiet, "dhcp_ack", T, 25), 1040);
});
