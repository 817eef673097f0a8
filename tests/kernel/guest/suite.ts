/**
 * The kernel-in-the-loop suite, run INSIDE the QEMU guest (scripts/kernel-lab/run.sh) against a
 * real Linux kernel: gpio-sim lines labelled like the Pi's controller, i2c-stub expanders and
 * the kernel's tracepoints. Usage: suite.js SECTIONS (all, or a comma list of section names).
 */
import { agentChecks, agentNarrowFlagsCheck, shAgentChecks } from "./agent_checks.ts";
import { section, summary } from "./check.ts";
import { gpioBackendChecks, i2cBusChecks } from "./line_checks.ts";
import { gpioPowerChecks, hubNarrowFlagsCheck, i2cPowerChecks } from "./hub_checks.ts";
import { simChip } from "./kernel.ts";

const wanted = (Deno.args[0] ?? "all").split(",");
const chip = simChip();
const sections: [string, () => Promise<void>][] = [
  ["lines", () => gpioBackendChecks(chip)],
  ["i2c", () => i2cBusChecks()],
  ["agent", () => agentChecks(chip)],
  ["sh-agent", () => shAgentChecks(chip)],
  ["hub-gpio", () => gpioPowerChecks(chip)],
  ["hub-i2c", () => i2cPowerChecks()],
  ["flags", async () => {
    await agentNarrowFlagsCheck();
    await hubNarrowFlagsCheck();
  }],
];
for (const [name, body] of sections) {
  if (wanted.includes("all") || wanted.includes(name)) await section(name, body);
}
Deno.exit(summary());
