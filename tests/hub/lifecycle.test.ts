import assert from "node:assert/strict";
import { deriveLifecycle, type LifecycleFacts } from "../../hub/cluster/lifecycle.ts";

const NOW = 1_000_000;
const LOST = 15_000;

/** A node that is on, idle, healthy and heard from 1 s ago; override what a case needs. */
function facts(over: Partial<LifecycleFacts> = {}): LifecycleFacts {
  return {
    actual: "on",
    operating: false,
    fault: false,
    poweredOnAt: NOW - 60_000,
    lastHeartbeatAt: NOW - 1_000,
    now: NOW,
    lostAfterMs: LOST,
    ...over,
  };
}

Deno.test("deriveLifecycle: the baseline node is running", () => {
  assert.equal(deriveLifecycle(facts()), "running");
});

Deno.test("deriveLifecycle: fault wins over everything", () => {
  for (const actual of ["on", "off"] as const) {
    for (const operating of [true, false]) {
      for (const lastHeartbeatAt of [null, NOW - 1, NOW - 10 * LOST]) {
        assert.equal(
          deriveLifecycle(facts({ fault: true, actual, operating, lastHeartbeatAt })),
          "fault",
          `${actual} operating=${operating} hb=${lastHeartbeatAt}`,
        );
      }
    }
  }
});

Deno.test("deriveLifecycle: powering while an operation runs, whatever the rail or heartbeats", () => {
  for (const actual of ["on", "off"] as const) {
    for (const lastHeartbeatAt of [null, NOW, NOW - 10 * LOST]) {
      assert.equal(
        deriveLifecycle(facts({ operating: true, actual, lastHeartbeatAt })),
        "powering",
      );
    }
  }
});

Deno.test("deriveLifecycle: off when the rail is off, even with recent heartbeats", () => {
  assert.equal(deriveLifecycle(facts({ actual: "off", poweredOnAt: null })), "off");
  assert.equal(
    deriveLifecycle(facts({ actual: "off", poweredOnAt: null, lastHeartbeatAt: NOW })),
    "off",
  );
  assert.equal(
    deriveLifecycle(facts({ actual: "off", poweredOnAt: null, lastHeartbeatAt: null })),
    "off",
  );
});

Deno.test("deriveLifecycle: booting until the first heartbeat since power-on", () => {
  // Never heard from.
  assert.equal(deriveLifecycle(facts({ poweredOnAt: NOW - 5, lastHeartbeatAt: null })), "booting");
  // Heard from before this power-on only: an old heartbeat does not count.
  assert.equal(
    deriveLifecycle(facts({ poweredOnAt: NOW - 5, lastHeartbeatAt: NOW - 6 })),
    "booting",
  );
  // Even a very long boot without a heartbeat stays booting (not lost).
  assert.equal(
    deriveLifecycle(facts({ poweredOnAt: NOW - 10 * LOST, lastHeartbeatAt: null })),
    "booting",
  );
  assert.equal(
    deriveLifecycle(facts({ poweredOnAt: NOW - 10 * LOST, lastHeartbeatAt: NOW - 11 * LOST })),
    "booting",
  );
});

Deno.test("deriveLifecycle: a heartbeat at or after power-on makes it running", () => {
  assert.equal(
    deriveLifecycle(facts({ poweredOnAt: NOW - 5, lastHeartbeatAt: NOW - 5 })),
    "running",
  );
  assert.equal(
    deriveLifecycle(facts({ poweredOnAt: NOW - 5, lastHeartbeatAt: NOW - 4 })),
    "running",
  );
  // Rail on with no known power-on time (e.g. found on at start-up): any heartbeat counts.
  assert.equal(
    deriveLifecycle(facts({ poweredOnAt: null, lastHeartbeatAt: NOW - 1 })),
    "running",
  );
  assert.equal(deriveLifecycle(facts({ poweredOnAt: null, lastHeartbeatAt: null })), "booting");
});

Deno.test("deriveLifecycle: lost exactly when silence reaches lostAfterMs", () => {
  const hb = NOW - 20_000;
  const at = (now: number) =>
    deriveLifecycle(facts({ poweredOnAt: hb - 1000, lastHeartbeatAt: hb, now }));
  assert.equal(at(hb), "running");
  assert.equal(at(hb + LOST - 1), "running");
  assert.equal(at(hb + LOST - 0.001), "running");
  assert.equal(at(hb + LOST), "lost");
  assert.equal(at(hb + LOST + 1), "lost");
  assert.equal(at(hb + 100 * LOST), "lost");
});

Deno.test("deriveLifecycle: threshold follows lostAfterMs", () => {
  const f = facts({ lastHeartbeatAt: NOW - 3000 });
  assert.equal(deriveLifecycle({ ...f, lostAfterMs: 3001 }), "running");
  assert.equal(deriveLifecycle({ ...f, lostAfterMs: 3000 }), "lost");
  assert.equal(deriveLifecycle({ ...f, lostAfterMs: 2999 }), "lost");
});

Deno.test("deriveLifecycle: full truth table over the discrete facts", () => {
  // Independent re-statement of the rules, used to check every combination.
  const expected = (
    fault: boolean,
    operating: boolean,
    actual: "on" | "off",
    beat: "none" | "before" | "fresh" | "stale",
  ) => {
    if (fault) return "fault";
    if (operating) return "powering";
    if (actual === "off") return "off";
    if (beat === "none" || beat === "before") return "booting";
    return beat === "fresh" ? "running" : "lost";
  };
  const poweredOnAt = NOW - 5 * LOST;
  const beats = {
    none: null,
    before: poweredOnAt - 1,
    fresh: NOW - LOST + 1,
    stale: NOW - LOST,
  } as const;
  let n = 0;
  for (const fault of [false, true]) {
    for (const operating of [false, true]) {
      for (const actual of ["on", "off"] as const) {
        for (const beat of ["none", "before", "fresh", "stale"] as const) {
          const got = deriveLifecycle(
            facts({ fault, operating, actual, poweredOnAt, lastHeartbeatAt: beats[beat] }),
          );
          assert.equal(
            got,
            expected(fault, operating, actual, beat),
            `fault=${fault} op=${operating} ${actual} beat=${beat}`,
          );
          n++;
        }
      }
    }
  }
  assert.equal(n, 32);
});
