/**
 * The power driver's configuration: one zod schema (runtime validator and type) with
 * cross-checks (every node wired once, every pin used once, chips that exist), and the
 * default I2C wiring of a module.
 */
import { z } from "zod";
import { type Bay, type NodeMap, nodeRangeProblem } from "../../shared/node_map.ts";
import { NodeId } from "../../shared/schemas.ts";
import { EXPANDER_TYPES } from "../../shared/pins/expander/chips.ts";
import { EXPANDER_PINS } from "../../shared/pins/expander/register_map.ts";
import { GPIO_BACKENDS } from "../../shared/pins/open.ts";

/**
 * GPIO backends a `gpio` config may name: the one list `openGpioLine` in shared/pins/open.ts
 * accepts (`auto` = chardev, else sysfs; `sim` = simulated lines).
 */
export const GpioBackend = z.enum(GPIO_BACKENDS);
export type GpioBackend = z.infer<typeof GpioBackend>;

/** An expander address 0x20–0x27, as a number (32) or a hex string ("0x20"). */
export const ExpanderAddress = z
  .union([
    z.number().int(),
    z.string().regex(/^0x[0-9a-fA-F]{1,2}$/, 'address must look like "0x20"')
      .transform((s) => parseInt(s, 16)),
  ])
  .pipe(
    z.number().int().min(0x20, "expander address must be 0x20–0x27").max(
      0x27,
      "expander address must be 0x20–0x27",
    ),
  );

const Pin = z.number().int().min(0).max(EXPANDER_PINS - 1);

/** The simulated module (default). */
export const SimulatedPowerConfig = z.strictObject({ driver: z.literal("simulated") });

/** How long (ms) a switched line and its rail sense may take to show the new state. */
const ReadbackMs = z.number().int().min(0).max(10_000).optional();

/** One Pi GPIO line per node. */
export const GpioPowerConfig = z.strictObject({
  driver: z.literal("gpio"),
  backend: GpioBackend,
  readbackMs: ReadbackMs,
  lines: z.array(z.strictObject({
    node: NodeId,
    /** BCM GPIO number (chardev: line offset on gpiochip0). */
    gpio: z.number().int().min(0).max(1023),
    /** BCM GPIO of an input that reads 1 while the node's rail is up. */
    sense: z.number().int().min(0).max(1023).optional(),
    /** The node is powered while the line is low. */
    activeLow: z.boolean().optional(),
  })).min(1),
}).superRefine((cfg, ctx) => {
  unique(ctx, cfg.lines.map((l) => l.node), (n) => `node ${n} is wired twice`, "lines");
  unique(
    ctx,
    cfg.lines.flatMap((l) => l.sense === undefined ? [l.gpio] : [l.gpio, l.sense]),
    (g) => `GPIO ${g} is used twice`,
    "lines",
  );
});
export type GpioPowerConfig = z.infer<typeof GpioPowerConfig>;

/** One I2C bus of a BitBar, with its expander chips. */
export const I2cBusConfig = z.strictObject({
  /** BitBar control-plane bus, 1 to the module's last (checked against the node map). */
  bus: z.number().int().min(1),
  /** Linux I2C adapter number: /dev/i2c-N. */
  i2cDevice: z.number().int().min(0),
  chips: z.array(z.strictObject({ type: z.enum(EXPANDER_TYPES), address: ExpanderAddress })).min(1),
});
export type I2cBusConfig = z.infer<typeof I2cBusConfig>;

/** Where one node's rail is switched (and optionally sensed). */
export const I2cNodeConfig = z.strictObject({
  node: NodeId,
  /** `bus` of an entry of `buses`. */
  bus: z.number().int().min(1),
  /** Address of a chip of that bus. */
  chip: ExpanderAddress,
  /** Expander pin 0–15 (0–7 port A/0, 8–15 port B/1) that switches the rail. */
  pin: Pin,
  /** Expander pin of the same chip that reads 1 while the rail is up. */
  sensePin: Pin.optional(),
  /** The node is powered while the pin is low. */
  activeLow: z.boolean().optional(),
});
export type I2cNodeConfig = z.infer<typeof I2cNodeConfig>;

/** I2C GPIO expanders, one bus per BitBar. */
export const I2cPowerConfig = z.strictObject({
  driver: z.literal("i2c"),
  readbackMs: ReadbackMs,
  buses: z.array(I2cBusConfig).min(1),
  nodes: z.array(I2cNodeConfig).min(1),
}).superRefine((cfg, ctx) => {
  const hexa = (n: number) => `0x${n.toString(16)}`;
  unique(ctx, cfg.buses.map((b) => b.bus), (b) => `bus ${b} is listed twice`, "buses");
  unique(
    ctx,
    cfg.buses.flatMap((b) => b.chips.map((c) => `/dev/i2c-${b.i2cDevice} ${hexa(c.address)}`)),
    (k) => `two chips at ${k}`,
    "buses",
  );
  unique(ctx, cfg.nodes.map((n) => n.node), (n) => `node ${n} is wired twice`, "nodes");
  const pins: string[] = [];
  cfg.nodes.forEach((n, i) => {
    const bus = cfg.buses.find((b) => b.bus === n.bus);
    const path = ["nodes", i];
    if (!bus) {
      ctx.addIssue({
        code: "custom",
        path,
        message: `node ${n.node}: bus ${n.bus} is not in buses`,
      });
    } else if (!bus.chips.some((c) => c.address === n.chip)) {
      ctx.addIssue({
        code: "custom",
        path,
        message: `node ${n.node}: bus ${n.bus} has no chip at ${hexa(n.chip)}`,
      });
    }
    if (n.sensePin === n.pin) {
      ctx.addIssue({ code: "custom", path, message: `node ${n.node}: sensePin equals pin` });
    }
    pins.push(`bus ${n.bus} chip ${hexa(n.chip)} pin ${n.pin}`);
    if (n.sensePin !== undefined) pins.push(`bus ${n.bus} chip ${hexa(n.chip)} pin ${n.sensePin}`);
  });
  unique(ctx, pins, (p) => `${p} is used twice`, "nodes");
});
export type I2cPowerConfig = z.infer<typeof I2cPowerConfig>;

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const ABSOLUTE = /^\/[A-Za-z0-9_./-]*$/;

/** One bay that is a QEMU guest. */
export const QemuGuestConfig = z.strictObject({
  node: NodeId,
  /** The guest NIC's MAC (lower case, e.g. 52:54:00:00:00:01): what the hub learns. */
  mac: z.string().regex(MAC, "mac must look like 52:54:00:00:00:01 (lower case)"),
  /** An existing tap device on the cluster bridge (e.g. `ip tuntap add dev cmtap1 mode tap`). */
  tap: z.string().regex(IFNAME, "tap must be an interface name"),
  /** The serial console: a TCP port (on 127.0.0.1 unless `host`) or a unix socket path. */
  console: z.union([
    z.strictObject({
      tcp: z.number().int().min(1).max(65535),
      host: z.string().regex(/^[0-9.]+$/, "host must be an IPv4 address").default("127.0.0.1"),
    }),
    z.strictObject({ unix: z.string().regex(ABSOLUTE, "unix must be an absolute path") }),
  ]),
  /** A QMP socket for the guest (unix path): the Pi lab reads the SoC's GPIO registers there. */
  qmp: z.string().regex(ABSOLUTE, "qmp must be an absolute path").optional(),
  /**
   * An emulated Raspberry Pi instead of a PXE-booting PC: QEMU `machine` (raspi3b), booted the
   * way its firmware would boot the files the hub serves (config.txt, cmdline.txt, kernel,
   * device tree, initramfs), looked up in `bootDirs` in order (the node's own TFTP directory,
   * then the TFTP root). Its network is a usb-net device on the tap.
   */
  raspi: z.strictObject({
    machine: z.enum(["raspi3b"]),
    binary: z.string().default("qemu-system-aarch64"),
    bootDirs: z.array(z.string().regex(ABSOLUTE, "bootDirs must be absolute paths")).min(1),
  }).optional(),
});
export type QemuGuestConfig = z.infer<typeof QemuGuestConfig>;

/** Bays that are QEMU guests booting from the network (virtual nodes, tests, demos). */
export const QemuPowerConfig = z.strictObject({
  driver: z.literal("qemu"),
  binary: z.string().default("qemu-system-x86_64"),
  accel: z.enum(["tcg", "kvm"]).default("tcg"),
  memoryMiB: z.number().int().min(256).max(65536).default(1024),
  cpus: z.number().int().min(1).max(16).default(1),
  /** Directory for the guests' pid files and console logs. */
  stateDir: z.string().regex(ABSOLUTE, "stateDir must be an absolute path"),
  guests: z.array(QemuGuestConfig).min(1),
}).superRefine((cfg, ctx) => {
  unique(ctx, cfg.guests.map((g) => g.node), (n) => `node ${n} is listed twice`, "guests");
  unique(ctx, cfg.guests.map((g) => g.mac), (m) => `MAC ${m} is used twice`, "guests");
  unique(ctx, cfg.guests.map((g) => g.tap), (t) => `tap ${t} is used twice`, "guests");
  unique(
    ctx,
    cfg.guests.map((g) =>
      "unix" in g.console ? g.console.unix : `${g.console.host}:${g.console.tcp}`
    ),
    (c) => `console ${c} is used twice`,
    "guests",
  );
});
export type QemuPowerConfig = z.infer<typeof QemuPowerConfig>;

/** The power driver config: `{driver: "simulated" | "gpio" | "i2c" | "qemu", …}`. */
export const PowerConfig = z.discriminatedUnion("driver", [
  SimulatedPowerConfig,
  GpioPowerConfig,
  I2cPowerConfig,
  QemuPowerConfig,
]);
export type PowerConfig = z.infer<typeof PowerConfig>;

/**
 * What of `cfg` the module `map` has no place for (nodes that are no bay of it, BitBar buses it
 * does not have), one problem each with the field's path; empty when the config fits.
 */
export function powerConfigMisfits(cfg: PowerConfig, map: NodeMap): string[] {
  const problems: string[] = [];
  const node = (path: string, id: number) => {
    const problem = nodeRangeProblem(map, id);
    if (problem) problems.push(`${path}: ${problem}`);
  };
  const bus = (path: string, b: number) => {
    if (b > map.buses) {
      problems.push(`${path}: bus ${b} does not exist: this module has buses 1 to ${map.buses}`);
    }
  };
  switch (cfg.driver) {
    case "gpio":
      cfg.lines.forEach((l, i) => node(`lines.${i}.node`, l.node));
      break;
    case "i2c":
      cfg.buses.forEach((b, i) => bus(`buses.${i}.bus`, b.bus));
      cfg.nodes.forEach((n, i) => {
        node(`nodes.${i}.node`, n.node);
        bus(`nodes.${i}.bus`, n.bus);
      });
      break;
    case "qemu":
      cfg.guests.forEach((g, i) => node(`guests.${i}.node`, g.node));
      break;
  }
  return problems;
}

function unique<T>(ctx: z.RefinementCtx, values: T[], message: (v: T) => string, path: string) {
  const seen = new Set<T>();
  for (const v of values) {
    if (seen.has(v)) ctx.addIssue({ code: "custom", path: [path], message: message(v) });
    seen.add(v);
  }
}

/** Options of {@link defaultI2cPowerConfig}. */
export interface DefaultI2cOptions {
  /** /dev/i2c-N of BitBar bus 1; bus b uses N + b − 1 (default 1). */
  firstI2cDevice?: number;
  /** Expander type on every bus (default "mcp23017"). */
  chip?: typeof EXPANDER_TYPES[number];
  /** Address of the chip on every bus (default 0x20). */
  address?: number;
  /** Wire sense pins (port B) (default true). */
  sense?: boolean;
  /** Rails on while the pin is low (default false). */
  activeLow?: boolean;
}

/**
 * The default I2C wiring of `bays` (a node map's, or some of them): one bus per BitBar, one
 * MCP23017 at 0x20 per bus, slot k switched by pin k−1 (port A) and sensed by pin 8+k−1
 * (port B).
 */
export function defaultI2cPowerConfig(
  bays: readonly Bay[],
  opts: DefaultI2cOptions = {},
): I2cPowerConfig {
  const first = opts.firstI2cDevice ?? 1;
  const address = opts.address ?? 0x20;
  const buses = [...new Set(bays.map((b) => b.bus))].sort((a, b) => a - b);
  return I2cPowerConfig.parse({
    driver: "i2c",
    buses: buses.map((bus) => ({
      bus,
      i2cDevice: first + bus - 1,
      chips: [{ type: opts.chip ?? "mcp23017", address }],
    })),
    nodes: bays.map(({ id: node, bus, slot }) => {
      return {
        node,
        bus,
        chip: address,
        pin: slot - 1,
        ...(opts.sense ?? true ? { sensePin: 8 + slot - 1 } : {}),
        ...(opts.activeLow ? { activeLow: true } : {}),
      };
    }),
  });
}
