import assert from "node:assert/strict";
import { buildNodeMap } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { parseOrThrow } from "../../../shared/schemas.ts";
import { defaultI2cPowerConfig, PowerConfig } from "../../../hub/power/power_config.ts";

function problems(value: unknown): string {
  try {
    parseOrThrow(PowerConfig, value, "power config");
  } catch (e) {
    assert.ok(e instanceof ClusterError && e.code === "invalid_body");
    return e.message;
  }
  throw new Error("config was accepted");
}

Deno.test("default I2C config: one MCP23017 0x20 per BitBar, slot k on pin k-1, sense on port B", () => {
  const cfg = defaultI2cPowerConfig(buildNodeMap().bays);
  assert.equal(cfg.buses.length, 10);
  assert.deepEqual(cfg.buses[9], {
    bus: 10,
    i2cDevice: 10,
    chips: [{ type: "mcp23017", address: 0x20 }],
  });
  assert.equal(cfg.nodes.length, 60);
  assert.deepEqual(cfg.nodes[0], { node: 1, bus: 1, chip: 0x20, pin: 0, sensePin: 8 });
  assert.deepEqual(cfg.nodes[6], { node: 7, bus: 2, chip: 0x20, pin: 0, sensePin: 8 });
  assert.deepEqual(cfg.nodes[59], { node: 60, bus: 10, chip: 0x20, pin: 5, sensePin: 13 });
  assert.equal(defaultI2cPowerConfig(buildNodeMap({ nodeCount: 48 }).bays).buses.length, 8);
  const alt = defaultI2cPowerConfig(buildNodeMap().bays, {
    firstI2cDevice: 3,
    chip: "pca9555",
    sense: false,
    activeLow: true,
  });
  assert.equal(alt.buses[0].i2cDevice, 3);
  assert.deepEqual(alt.nodes[1], { node: 2, bus: 1, chip: 0x20, pin: 1, activeLow: true });
  assert.deepEqual(PowerConfig.parse(cfg), cfg);
});

Deno.test("addresses may be written as hex strings", () => {
  const cfg = PowerConfig.parse({
    driver: "i2c",
    buses: [{ bus: 1, i2cDevice: 1, chips: [{ type: "tca9555", address: "0x21" }] }],
    nodes: [{ node: 1, bus: 1, chip: "0x21", pin: 0 }],
  });
  assert.ok(cfg.driver === "i2c");
  assert.equal(cfg.buses[0].chips[0].address, 0x21);
  assert.equal(cfg.nodes[0].chip, 0x21);
});

Deno.test("simulated and gpio configs parse", () => {
  assert.deepEqual(PowerConfig.parse({ driver: "simulated" }), { driver: "simulated" });
  const gpio = PowerConfig.parse({
    driver: "gpio",
    backend: "chardev",
    lines: [{ node: 1, gpio: 17 }, { node: 2, gpio: 27, activeLow: true }],
  });
  assert.ok(gpio.driver === "gpio" && gpio.lines.length === 2);
});

Deno.test("bad configs are rejected with messages naming the problem", () => {
  const bus = { bus: 1, i2cDevice: 1, chips: [{ type: "mcp23017", address: 0x20 }] };
  assert.match(problems({ driver: "relay" }), /driver/);
  assert.match(problems({ driver: "simulated", extra: 1 }), /extra/);
  assert.match(
    problems({ driver: "i2c", buses: [bus], nodes: [{ node: 1, bus: 2, chip: 0x20, pin: 0 }] }),
    /node 1: bus 2 is not in buses/,
  );
  assert.match(
    problems({ driver: "i2c", buses: [bus], nodes: [{ node: 1, bus: 1, chip: 0x21, pin: 0 }] }),
    /bus 1 has no chip at 0x21/,
  );
  assert.match(
    problems({
      driver: "i2c",
      buses: [bus],
      nodes: [{ node: 1, bus: 1, chip: 0x20, pin: 0, sensePin: 8 }, {
        node: 2,
        bus: 1,
        chip: 0x20,
        pin: 8,
      }],
    }),
    /bus 1 chip 0x20 pin 8 is used twice/,
  );
  assert.match(
    problems({
      driver: "i2c",
      buses: [bus],
      nodes: [{ node: 1, bus: 1, chip: 0x20, pin: 3, sensePin: 3 }],
    }),
    /sensePin equals pin/,
  );
  assert.match(
    problems({
      driver: "i2c",
      buses: [{ ...bus, chips: [{ type: "mcp23017", address: 0x40 }] }],
      nodes: [{ node: 1, bus: 1, chip: 0x20, pin: 0 }],
    }),
    /0x20–0x27/,
  );
  assert.match(
    problems({
      driver: "i2c",
      buses: [bus, { ...bus, bus: 2 }],
      nodes: [{ node: 1, bus: 1, chip: 0x20, pin: 0 }],
    }),
    /two chips at \/dev\/i2c-1 0x20/,
  );
  assert.match(
    problems({ driver: "i2c", buses: [bus], nodes: [{ node: 1, bus: 1, chip: 0x20, pin: 16 }] }),
    /pin/,
  );
  assert.match(
    problems({
      driver: "gpio",
      backend: "chardev",
      lines: [{ node: 1, gpio: 4 }, { node: 1, gpio: 5 }],
    }),
    /node 1 is wired twice/,
  );
  assert.match(
    problems({
      driver: "gpio",
      backend: "chardev",
      lines: [{ node: 1, gpio: 4 }, { node: 2, gpio: 4 }],
    }),
    /GPIO 4 is used twice/,
  );
  assert.match(
    problems({ driver: "gpio", backend: "wiringpi", lines: [{ node: 1, gpio: 4 }] }),
    /backend/,
  );
});
