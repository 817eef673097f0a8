/** Preflight in the hub: GET /preflight, and a bootstrap refused when a check fails. */
import assert from "node:assert/strict";
import { PreflightReport } from "../../../shared/preflight_schemas.ts";
import type { PreflightProbes } from "../../../hub/preflight/probes.ts";
import { startTestHub } from "../../support/test_hub.ts";
import { scaleTimings, VENDOR_TIMINGS } from "../../../hub/cluster/runs/bootstrap.ts";
import { FakeClock } from "../../support/fakes/fake_clock.ts";

/** Probes as a healthy hub would find things, but with a rogue DHCP server on the LAN. */
const rogueLan: PreflightProbes = {
  dhcpOffers: () =>
    Promise.resolve({
      offers: [{ serverId: "10.42.0.1", from: "10.42.0.1", yiaddr: "10.42.0.99" }],
    }),
  listDir: () => Promise.resolve(null),
  addresses: () => Promise.resolve(["10.42.0.250"]),
  ntpSynced: () => Promise.resolve(true),
};

Deno.test("dry mode: the network checks are skipped and a bootstrap starts", async () => {
  const t = await startTestHub({
    overrides: {
      preflightProbes: rogueLan,
      timings: scaleTimings(VENDOR_TIMINGS, 0.001),
      recovery: false,
    },
  });
  try {
    const res = await t.call("GET", "/api/v1/preflight");
    assert.equal(res.status, 200);
    const r = PreflightReport.parse(await res.json());
    assert.equal(r.mode, "dry");
    assert.ok(r.ok);
    assert.deepEqual(
      r.checks.map((c) => [c.name, c.status]),
      [
        ["rogue_dhcp", "skip"],
        ["tftp_root", "skip"],
        ["nfs_export", "skip"],
        ["ip_forward", "skip"],
        ["nat_rules", "skip"],
        ["hub_address", "skip"],
        ["clock", "pass"],
      ],
    );
    assert.equal(
      (await t.call("GET", "/api/v1/preflight", undefined, { auth: false })).status,
      401,
    );
    const boot = await t.call("POST", "/api/v1/bootstrap", { nodes: "1", skipPreflight: false });
    assert.equal(boot.status, 202);
    await t.hub.jobs.wait((await boot.json()).id);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("a failed check refuses the bootstrap with the report; --skip-preflight starts it", async () => {
  // A hub whose clock reads 2023 (a Pi without RTC, before NTP): the clock check fails.
  const t = await startTestHub({
    overrides: { preflightProbes: rogueLan, clock: new FakeClock(Date.UTC(2023, 10, 14)) },
  });
  try {
    const res = await t.call("POST", "/api/v1/bootstrap", { nodes: "1-4" });
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.error.code, "not_ready");
    assert.match(
      body.error.message,
      /^preflight FAILED: .*\(clock\); fix it \(cm preflight shows how\)/,
    );
    const report = PreflightReport.parse(body.error.details);
    assert.match(report.checks.find((c) => c.name === "clock")!.hint, /NTP/);
    assert.equal(t.hub.jobs.list().length, 0, "no bootstrap job");
    const forced = await t.call("POST", "/api/v1/bootstrap", { nodes: "1-4", skipPreflight: true });
    assert.equal(forced.status, 202);
    const job = await forced.json();
    t.hub.jobs.cancel(job.id);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("live mode: a rogue DHCP server and no boot files fail, the rest passes", async () => {
  const t = await startTestHub({ overrides: { preflightProbes: rogueLan } });
  try {
    const { Preflight } = await import("../../../hub/preflight/preflight.ts");
    const { netbootSettings } = await import("../../../hub/netboot/settings/settings.ts");
    const pf = new Preflight({
      map: t.hub.map,
      settings: netbootSettings({}),
      mode: () => ({ mode: "live", reason: "test" }),
      netbootChecks: () =>
        Promise.resolve({
          nfs: { name: "nfs", state: "ok", detail: "", checks: {} },
          nat: {
            name: "nat",
            state: "ok",
            detail: "",
            checks: { ipForward: true, iptables: true, masquerade: true, jumps: true },
          },
        }),
      probes: rogueLan,
      clock: {
        now: () => Date.now(),
        sleep: () => Promise.resolve(),
        sleepUntil: () => Promise.resolve(),
      },
    });
    const r = await pf.run();
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.checks.filter((c) => c.status !== "pass").map((c) => [c.name, c.status]),
      [["rogue_dhcp", "fail"], ["tftp_root", "fail"]],
    );
    assert.equal(
      r.summary,
      "preflight FAILED: 5 pass, 0 warn, 2 fail, 0 skipped (rogue_dhcp, tftp_root)",
    );
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
