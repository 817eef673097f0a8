import assert from "node:assert/strict";
import { Heartbeat, NodeHealth, NodeIdentity } from "../../shared/schemas.ts";
import { parseKernelArgs } from "../../node-agent/cmdline.ts";
import {
  modelFromBoardName,
  modelFromRevision,
  readHealth,
  readIdentity,
  readThrottled,
  routeInterface,
} from "../../node-agent/identity.ts";
import { startAgent } from "../../node-agent/agent.ts";
import { realClock } from "../../shared/clock.ts";
import { SimulatedGpioLine } from "../../shared/pins/simulated.ts";
import { FakeHub } from "./fake_hub.ts";
import { decodeThrottled, describeThrottled, parseThrottled } from "../../shared/throttled.ts";

const FIXTURES = new URL("../fixtures/pi/", import.meta.url).pathname;
const root = (name: string) => `${FIXTURES}${name}`;

Deno.test("identity: Pi 3B from the device tree, node from its hostname", async () => {
  const id = await readIdentity({ root: root("pi3b") });
  assert.deepEqual(id, NodeIdentity.parse(id));
  assert.equal(id.model, "pi3b");
  assert.equal(id.boardName, "Raspberry Pi 3 Model B Rev 1.2");
  assert.equal(id.serial, "00000000a1b2c3d4");
  assert.equal(id.mac, "b8:27:eb:b2:c3:d4", "eth0 is preferred over wlan0");
  assert.equal(id.hostname, "node01");
  assert.equal(id.node, 1);
});

Deno.test("identity: Pi 3B+ takes its node id from the kernel command line", async () => {
  const id = await readIdentity({ root: root("pi3b+") });
  assert.equal(id.model, "pi3b+");
  assert.equal(id.boardName, "Raspberry Pi 3 Model B Plus Rev 1.3");
  assert.equal(id.hostname, "clyde");
  assert.equal(id.node, 7);
  // The config (or a flag) wins over the kernel command line.
  assert.equal((await readIdentity({ root: root("pi3b+"), node: 9 })).node, 9);
});

Deno.test("identity: Pi 4 MAC is normalised to lower case", async () => {
  const id = await readIdentity({ root: root("pi4") });
  assert.equal(id.model, "pi4");
  assert.equal(id.mac, "dc:a6:32:f6:07:18");
  assert.equal(id.node, 42);
  assert.equal(id.serial, "10000000e5f60718");
});

Deno.test("identity: Pi Zero W has no eth0 and reports its wlan0 MAC", async () => {
  const id = await readIdentity({ root: root("pi0w") });
  assert.equal(id.model, "pi0w");
  assert.equal(id.mac, "b8:27:eb:8e:7d:6c");
  assert.equal(id.node, 17);
});

Deno.test("identity: an unknown board is 'unknown', not an error", async () => {
  const id = await readIdentity({ root: root("unknown") });
  assert.equal(id.model, "unknown");
  assert.equal(id.boardName, "Raspberry Pi 5 Model B Rev 1.0");
  assert.equal(id.node, undefined, "pi5-bench is not a node hostname");
  NodeIdentity.parse(id);
});

Deno.test("identity: without a device tree, cpuinfo's revision code decides", async () => {
  const id = await readIdentity({ root: root("pi3b-cpuinfo-only") });
  assert.equal(id.model, "pi3b");
  assert.equal(id.serial, "00000000a1b2c3d5");
  assert.equal(id.boardName, "");
});

Deno.test("identity: overrides for virtual agents; an empty root reads as little as it can", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const id = await readIdentity({ root: empty, model: "pi0w", hostname: "node23" });
    assert.deepEqual(
      { model: id.model, hostname: id.hostname, node: id.node, mac: id.mac, serial: id.serial },
      { model: "pi0w", hostname: "node23", node: 23, mac: null, serial: "" },
    );
    const h = await readHealth(empty);
    assert.deepEqual(h, {
      uptimeSeconds: 0,
      load1: 0,
      memTotalBytes: 0,
      memAvailableBytes: 0,
      cpuTempCelsius: null,
      throttled: null,
    });
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("model names and revision codes", () => {
  assert.equal(modelFromBoardName("Raspberry Pi 3 Model B Plus Rev 1.3\0"), "pi3b+");
  assert.equal(modelFromBoardName("Raspberry Pi 3 Model B Rev 1.2"), "pi3b");
  assert.equal(modelFromBoardName("Raspberry Pi Zero 2 W Rev 1.0"), "unknown");
  assert.equal(modelFromBoardName("Raspberry Pi Zero W Rev 1.1"), "pi0w");
  assert.equal(modelFromRevision("a020d3"), "pi3b+");
  // Debian's kernel boots the mainline device trees: their model strings carry no revision,
  // and the 3B+ is "Model B+" (read on an emulated 3B+ in the Pi lab, tests/pi/).
  assert.equal(modelFromBoardName("Raspberry Pi 3 Model B+\0"), "pi3b+");
  assert.equal(modelFromBoardName("Raspberry Pi 3 Model B\0"), "pi3b");
  assert.equal(modelFromBoardName("Raspberry Pi Zero W\0"), "pi0w");
  assert.equal(modelFromBoardName("Raspberry Pi 4 Model B\0"), "pi4");
  assert.equal(modelFromRevision("9000c1"), "pi0w");
  assert.equal(modelFromRevision("c03114"), "pi4");
  assert.equal(modelFromRevision("0010"), "unknown", "old-style codes are not decoded");
  assert.equal(modelFromRevision("garbage"), "unknown");
});

Deno.test("health: uptime, load, memory and temperature from the fixture", async () => {
  const h = await readHealth(root("pi3b+"));
  assert.deepEqual(h, {
    uptimeSeconds: 12345.67,
    load1: 0.42,
    memTotalBytes: 948304 * 1024,
    memAvailableBytes: 741204 * 1024,
    cpuTempCelsius: 48.312,
    throttled: 0,
  });
  NodeHealth.parse(h);
  // Kernels without MemAvailable: free + buffers + cached.
  const old = await readHealth(root("pi3b-cpuinfo-only"));
  assert.equal(old.memAvailableBytes, (641204 + 20480 + 110592) * 1024);
});

Deno.test("throttling: the firmware's sysfs file, else vcgencmd, else null", async () => {
  // sysfs: the kernel prints the mask as bare hex (drivers/firmware/raspberrypi.c, "%x").
  assert.equal((await readHealth(root("pi0w"))).throttled, 0x50005);
  assert.deepEqual(decodeThrottled(0x50005), {
    underVoltage: true,
    freqCapped: false,
    throttled: true,
    softTempLimit: false,
    underVoltageOccurred: true,
    freqCappedOccurred: false,
    throttledOccurred: true,
    softTempLimitOccurred: false,
  });
  // No sysfs file (older firmware driver): vcgencmd's "throttled=0x50000".
  const vcgencmdOut = await Deno.readTextFile(
    new URL("../fixtures/pi/vcgencmd/get_throttled.txt", import.meta.url),
  );
  let ran = 0;
  const vcgencmd = () => {
    ran++;
    return Promise.resolve(vcgencmdOut);
  };
  assert.equal(await readThrottled(root("pi4"), vcgencmd), 0x50000);
  assert.equal(ran, 1);
  assert.equal(await readThrottled(root("pi0w"), vcgencmd), 0x50005, "sysfs wins");
  assert.equal(ran, 1, "vcgencmd is not run when sysfs answers");
  assert.equal(await readThrottled(root("pi4"), () => Promise.resolve(undefined)), null);
  assert.equal(await readThrottled(root("pi4"), () => Promise.resolve("error=1")), null);
  assert.equal(
    await readThrottled(root("pi4")),
    null,
    "a fixture root never runs the host's vcgencmd",
  );
  assert.equal(parseThrottled("throttled=0x0"), 0);
  assert.equal(parseThrottled("50005\n"), 0x50005);
  assert.equal(parseThrottled("throttled=0xzz"), undefined);
  assert.equal(
    describeThrottled(0x50005),
    "under-voltage, throttled now; since boot: under-voltage, throttled",
  );
  assert.equal(describeThrottled(0), "no throttling");
});

Deno.test("a heartbeat built from every fixture passes the shared schema", async () => {
  for (const name of ["pi3b", "pi3b+", "pi4", "pi0w", "unknown", "pi3b-cpuinfo-only"]) {
    const hb = {
      identity: await readIdentity({ root: root(name) }),
      health: await readHealth(root(name)),
      led: "heartbeat",
      seq: 0,
      sentAt: 1_700_000_000_000,
    };
    assert.deepEqual(Heartbeat.parse(hb), hb, name);
  }
});

Deno.test("kernel command line: cm.hub, cm.node, cm.key", () => {
  assert.deepEqual(
    parseKernelArgs("console=tty1 cm.node=12 cm.hub=http://10.42.0.250:4242 cm.key=abc rootwait"),
    { node: 12, hub: "http://10.42.0.250:4242", key: "abc" },
  );
  assert.deepEqual(parseKernelArgs("cm.node=0 cm.node=x cm.hub= quiet"), {});
  assert.deepEqual(parseKernelArgs("cm.node=61"), {});
});

Deno.test("health: a missing thermal sensor is looked for once, not every heartbeat", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await readHealth(dir)).cpuTempCelsius, null);
    // A sensor that appears later is not read: the agent stopped asking (no NotFound thrown
    // and caught once a second for the agent's life).
    await Deno.mkdir(`${dir}/sys/class/thermal/thermal_zone0`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sys/class/thermal/thermal_zone0/temp`, "48312\n");
    assert.equal((await readHealth(dir)).cpuTempCelsius, null);
    // A sensor that is there is read every time.
    const other = await Deno.makeTempDir();
    await Deno.mkdir(`${other}/sys/class/thermal/thermal_zone0`, { recursive: true });
    await Deno.writeTextFile(`${other}/sys/class/thermal/thermal_zone0/temp`, "48312\n");
    assert.equal((await readHealth(other)).cpuTempCelsius, 48.312);
    await Deno.writeTextFile(`${other}/sys/class/thermal/thermal_zone0/temp`, "50000\n");
    assert.equal((await readHealth(other)).cpuTempCelsius, 50);
    await Deno.remove(other, { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The Pi lab's 3B+ (QEMU's usb-net gadget: usb0), netbooted from the hub at 10.42.0.250, as
 * /proc/net/route prints it; plus a default route over wlan0 to show the longest prefix wins.
 */
const LAB_ROUTES = [
  "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
  "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
  "usb0\t00002A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
  "wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0",
  "",
].join("\n");

/** A root with these interfaces' MACs (and /proc/net/route when given). */
async function netRoot(macs: Record<string, string>, routes?: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cm-agent-net-" });
  for (const [iface, mac] of Object.entries(macs)) {
    await Deno.mkdir(`${dir}/sys/class/net/${iface}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sys/class/net/${iface}/address`, `${mac}\n`);
  }
  if (routes !== undefined) {
    await Deno.mkdir(`${dir}/proc/net`, { recursive: true });
    await Deno.writeTextFile(`${dir}/proc/net/route`, routes);
  }
  return dir;
}

Deno.test("identity: the route to the hub's address names the interface, longest prefix first", () => {
  assert.equal(routeInterface(LAB_ROUTES, "10.42.0.250"), "usb0");
  assert.equal(routeInterface(LAB_ROUTES, "192.168.1.7"), "wlan0");
  assert.equal(routeInterface(LAB_ROUTES, "8.8.8.8"), "wlan0", "the default route");
  assert.equal(routeInterface(LAB_ROUTES, "hub.local"), undefined, "not an address");
  assert.equal(routeInterface(LAB_ROUTES, "10.42.0.999"), undefined);
  const down = LAB_ROUTES.replace(
    "usb0\t00002A0A\t00000000\t0001",
    "usb0\t00002A0A\t00000000\t0000",
  );
  assert.equal(routeInterface(down, "10.42.0.250"), "wlan0", "a route that is not up is no route");
  assert.equal(routeInterface("", "10.42.0.250"), undefined);
});

Deno.test("identity: the MAC is the one of the interface with the route to the hub (usb0 in the Pi lab)", async () => {
  const only = await netRoot({ lo: "00:00:00:00:00:00", usb0: "52:54:00:C1:00:01" }, LAB_ROUTES);
  const both = await netRoot(
    { eth0: "b8:27:eb:00:00:01", usb0: "52:54:00:c1:00:02", lo: "00:00:00:00:00:00" },
    LAB_ROUTES,
  );
  const noRoutes = await netRoot({
    lo: "00:00:00:00:00:00",
    usb1: "52:54:00:c1:00:04",
    usb0: "52:54:00:c1:00:03",
  });
  try {
    const hub = "http://10.42.0.250:4242";
    assert.equal((await readIdentity({ root: only, hub })).mac, "52:54:00:c1:00:01");
    assert.equal(
      (await readIdentity({ root: both, hub })).mac,
      "52:54:00:c1:00:02",
      "usb0 carries the route to the hub, not eth0",
    );
    assert.equal((await readIdentity({ root: both })).mac, "b8:27:eb:00:00:01", "no hub: eth0");
    assert.equal(
      (await readIdentity({ root: noRoutes, hub })).mac,
      "52:54:00:c1:00:03",
      "no routing table: the first interface by name with a MAC, loopback aside",
    );
  } finally {
    for (const d of [only, both, noRoutes]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("agent: the heartbeat carries usb0's MAC when usb0 is the way to the hub", async () => {
  const root = await netRoot({ lo: "00:00:00:00:00:00", usb0: "52:54:00:c1:00:01" }, LAB_ROUTES);
  const hub = new FakeHub(realClock);
  const agent = await startAgent({
    hub: "http://10.42.0.250:4242",
    key: hub.key,
    line: new SimulatedGpioLine({ gpio: 21, direction: "out", clock: realClock }),
    model: "pi3b+",
    hostname: "node01",
    root,
    intervalMs: 100,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
      hub.handle(new Request(input, init))) as typeof fetch,
  });
  try {
    while (hub.accepted.length < 1) await realClock.sleep(20);
  } finally {
    await agent.stop();
    await Deno.remove(root, { recursive: true });
  }
  assert.equal(hub.accepted[0].identity.mac, "52:54:00:c1:00:01");
});
