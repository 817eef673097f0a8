/** The `consoles` section of the hardware config: validated with clear messages, → sources. */
import { buildNodeMap, type NodeCount } from "../../../shared/node_map.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  consoleSourcesFromConfig,
  loadConsoleSources,
} from "../../../hub/console/console_config.ts";
import {
  controlFlags,
  CRTSCTS,
  describeLine,
  LineSettings,
  settingsOf,
} from "../../../hub/console/line_settings.ts";
import { createPowerSwitch } from "../../../hub/power/from_config.ts";
import { SimulatedModule } from "../../../hub/power/simulated_module.ts";
import { realClock } from "../../../shared/clock.ts";

Deno.test("consoles config: serial (115200 8N1 unless told), tcp and unix entries become sources", () => {
  const sources = consoleSourcesFromConfig({
    driver: "simulated",
    consoles: [
      { node: 1, type: "serial", device: "/dev/serial/by-path/platform-usb-0:1.1:1.0-port0" },
      { node: 2, type: "serial", device: "/dev/ttyUSB1", baud: 9600, stopBits: 2 },
      { node: 3, type: "tcp", host: "10.42.0.240", port: 7003 },
      { node: 4, type: "unix", path: "/run/cluster-hub/node04.console" },
    ],
  }, buildNodeMap())!;
  assert.deepEqual([...sources].map(([n, s]) => [n, s.kind, s.describe]), [
    [1, "serial", "/dev/serial/by-path/platform-usb-0:1.1:1.0-port0 115200 8N1"],
    [2, "serial", "/dev/ttyUSB1 9600 8N2"],
    [3, "tcp", "tcp 10.42.0.240:7003"],
    [4, "unix", "unix /run/cluster-hub/node04.console"],
  ]);
  assert.equal(
    consoleSourcesFromConfig({ driver: "simulated" }, buildNodeMap()),
    undefined,
    "no consoles key",
  );
});

Deno.test("consoles config: mistakes are named", () => {
  const bad = (consoles: unknown, re: RegExp, nodeCount: NodeCount = 60) =>
    assert.throws(() => consoleSourcesFromConfig({ consoles }, buildNodeMap({ nodeCount })), re);
  bad(
    [{ node: 1, type: "tcp", host: "h", port: 1 }, { node: 1, type: "tcp", host: "h", port: 2 }],
    /node 1 is listed twice/,
  );
  bad([{ node: 1, type: "serial", device: "/dev/ttyUSB0" }, {
    node: 2,
    type: "serial",
    device: "/dev/ttyUSB0",
  }], /\/dev\/ttyUSB0 is used by two nodes/);
  bad([{ node: 1, type: "serial", device: "ttyUSB0" }], /device must be an absolute path/);
  bad(
    [{ node: 1, type: "serial", device: "/dev/ttyUSB0", baud: 12345 }],
    /baud must be one of .*115200/,
  );
  bad([{ node: 1, type: "serial", device: "/dev/ttyUSB0", speed: 9600 }], /speed/);
  bad([{ node: 1, type: "telnet", host: "h", port: 23 }], /type/);
  bad(
    [{ node: 50, type: "tcp", host: "h", port: 1 }],
    /node 50 is not a bay of this 48-node module/,
    48,
  );
  bad("all", /consoles/);
});

Deno.test("consoles config: the file names itself in errors; the power driver ignores the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-console-config-" });
  try {
    const path = join(dir, "hardware.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify({ driver: "simulated", consoles: [{ node: 0 }] }),
    );
    assert.throws(
      () => loadConsoleSources(path, buildNodeMap()),
      new RegExp(`^ClusterError: ${path}: invalid consoles: 0.type`),
    );
    assert.throws(
      () => loadConsoleSources(join(dir, "missing.json"), buildNodeMap()),
      /file not found/,
    );

    const sim = new SimulatedModule({ map: buildNodeMap(), clock: realClock });
    const power = await createPowerSwitch(
      { driver: "simulated", consoles: [{ node: 1, type: "tcp", host: "h", port: 1 }] },
      {
        map: buildNodeMap(),
        simulated: () => sim,
        openGpioLine: () => Promise.reject(new Error("unused")),
        openI2cBus: () => Promise.reject(new Error("unused")),
      },
    );
    assert.equal(power, sim);
    await assert.rejects(
      createPowerSwitch({ driver: "simulated", console: [] }, {
        map: buildNodeMap(),
        simulated: () => sim,
        openGpioLine: () => Promise.reject(new Error("unused")),
        openI2cBus: () => Promise.reject(new Error("unused")),
      }),
      /console/,
      "other unknown keys are still refused",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("line settings: control flags encode size, parity, stop bits and flow control, and read back", () => {
  for (
    const s of [
      {},
      { dataBits: 7, parity: "even" },
      { dataBits: 5, parity: "odd", stopBits: 2 },
      { flowControl: "rtscts", baud: 921600 },
    ]
  ) {
    const line = LineSettings.parse(s);
    const cflag = controlFlags(line, 0xffffffff);
    assert.deepEqual(settingsOf(cflag, line.baud), line, describeLine(line));
  }
  assert.equal(describeLine(LineSettings.parse({ flowControl: "rtscts" })), "115200 8N1 rtscts");
  assert.equal(controlFlags(LineSettings.parse({}), CRTSCTS) & CRTSCTS, 0, "flow control cleared");
});
