/**
 * The edge's one error table: each layer's typed errors (pins, buses, power, store) reach a
 * client as the same JSON body, code and HTTP status they always had, and a failed job
 * records the same code.
 */
import { buildNodeMap } from "../../../shared/node_map.ts";
import assert from "node:assert/strict";
import { createApp } from "../../../hub/http/app.ts";
import { clientError, ERROR_STATUS, layerErrorCode } from "../../../hub/http/errors.ts";
import { route } from "../../../hub/http/route.ts";
import { AgentAuthCounters, AgentKeys } from "../../../hub/auth/agent_keys.ts";
import {
  ControlPlaneLockError,
  DriverClosedError,
  PowerConfigError,
} from "../../../hub/power/errors.ts";
import { StoreFullError, StoreLockedError } from "../../../hub/store/store.ts";
import { EventLog } from "../../../hub/events/event_log.ts";
import { JobRunner } from "../../../hub/jobs/job_runner.ts";
import { SqliteStore } from "../../../hub/store/sqlite_store.ts";
import { ClusterError, ERROR_CODES } from "../../../shared/errors.ts";
import { FakeClock } from "../../support/fakes/fake_clock.ts";
import {
  BusError,
  GpioBackendError,
  HardwareFault,
  PinError,
} from "../../../shared/pins/errors.ts";
import { I2cError } from "../../../shared/pins/i2c/i2c_error.ts";

const auth = {
  adminToken: "t",
  readToken: "r",
  readsNeedToken: false,
  agentKeys: new AgentKeys({
    secret: "s",
    map: buildNodeMap({ nodeCount: 12 }),
    sharedKey: "a",
    sharedKeyAllowed: true,
  }),
  agentCounters: new AgentAuthCounters(),
};

/** Each layer error, the code and status clients have always seen for it. */
const CASES: [string, Error, string, number][] = [
  ["PinError invalid", new PinError("invalid", "GPIO 21 is an input"), "bad_request", 400],
  ["PinError in_use", new PinError("in_use", "pin 3 is already in use"), "conflict", 409],
  ["PinError released", new PinError("released", "GPIO 4 was released"), "conflict", 409],
  ["BusError", new BusError("I2C address 200 is not a 7-bit address"), "bad_request", 400],
  ["HardwareFault", new HardwareFault("node 1: power on did not take"), "hardware_fault", 502],
  [
    "I2cError",
    new I2cError("no ACK", 121, { path: "/dev/i2c-1", operation: "read" }),
    "hardware_fault",
    502,
  ],
  ["GpioBackendError", new GpioBackendError("sysfs", "no /sys/class/gpio"), "hardware_fault", 502],
  ["DriverClosedError", new DriverClosedError("gpio"), "not_ready", 503],
  ["PowerConfigError", new PowerConfigError("invalid power config: driver"), "invalid_body", 400],
  ["ControlPlaneLockError held", new ControlPlaneLockError(true, "another hub"), "conflict", 409],
  ["ControlPlaneLockError", new ControlPlaneLockError(false, "run as root"), "bad_request", 400],
  ["StoreFullError", new StoreFullError("/var/lib/hub"), "insufficient_storage", 507],
  ["StoreLockedError", new StoreLockedError("another hub uses it", "/x"), "conflict", 409],
];

Deno.test("every error code has an HTTP status at the edge", () => {
  assert.deepEqual(Object.keys(ERROR_STATUS).sort(), [...ERROR_CODES].sort());
});

Deno.test("layer errors reach clients with their code, status and message", async () => {
  for (const [label, err, code, status] of CASES) {
    assert.equal(layerErrorCode(err), code, label);
    const app = createApp({
      auth,
      version: "test",
      routes: [route({
        method: "get",
        path: "/boom",
        summary: "throws",
        auth: "public",
        handler: () => {
          throw err;
        },
      })],
    });
    const res = await app.request("/api/v1/boom");
    assert.equal(res.status, status, label);
    const body = await res.json();
    assert.equal(body.error.code, code, label);
    assert.equal(body.error.message, err.message, label);
  }
});

Deno.test("a store-full refusal keeps its details (the data directory)", () => {
  const shown = clientError(new StoreFullError("/var/lib/hub"));
  assert.ok(shown instanceof ClusterError);
  assert.deepEqual(shown.details, { dataDir: "/var/lib/hub" });
});

Deno.test("an error of no layer is not shown", () => {
  assert.equal(clientError(new TypeError("x is undefined")), undefined);
  assert.equal(layerErrorCode("a string"), undefined);
});

Deno.test("a job failed by a hardware error records the code clients see", async () => {
  const clock = new FakeClock(0);
  const store = new SqliteStore(":memory:");
  try {
    const events = new EventLog(store, clock);
    const runner = new JobRunner(store, events, clock, clientError);
    const job = runner.start("power", "on 1", 1, () => {
      throw new HardwareFault("node 1: power on did not take", { node: 1 });
    });
    const done = await runner.wait(job.id);
    assert.equal(done.state, "failed");
    assert.equal(done.errorCode, "hardware_fault");
    assert.equal(done.error, "node 1: power on did not take");
    assert.deepEqual(done.result, { node: 1 });
  } finally {
    store.close();
  }
});
