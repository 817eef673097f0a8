/**
 * Kernel LED engine phase benchmark (not a test): how far the bay LED's rising edges (lit
 * edges) sit from the 1 s grid when the kernel blinks and the agent re-phases it by restarting
 * the pattern at every whole second, measured for `--minutes` (default 10) from outside an
 * emulated Pi Zero W: the Zero W card (`deno task image -- --board zerow`) booted in QEMU's
 * raspi0, its sh agent reporting to a real hub, GPIO 21 read in GPLEV0 over QMP
 * (tests/support/pi_lab_agent.ts boots it as the Pi lab's test does). Without re-phasing the kernel's
 * pattern drifts by ~23 ms a second (timer-wheel rounding at HZ=250, docs/agent.md).
 *
 * The grid is the guest's wall clock's, which the host cannot read: the error is each lit
 * edge's distance from the best-fitting 1 s grid (scripts/pi-lab/gplev.ts `blinkReport`),
 * overall and per minute (a drifting guest clock would show as a growing error), with the
 * sampling's resolution (gaps between GPLEV0 reads) beside it. Edges missing from the
 * expected one a second are counted too (a late restart lets the dead-man darken the LED).
 *
 *   sudo flock /tmp/qemu-lab.lock npx -y deno@2.9.6 task bench:led-phase [--minutes 10]
 * (as root, like the Pi lab; the lock keeps other QEMU work off the two cores meanwhile)
 */
import { parseArgs } from "node:util";
import { PI_BOARDS } from "../scripts/pi-lab/boards.ts";
import { blinkReport, edgesOf, quantile, type Sample, sampleBit } from "../scripts/pi-lab/gplev.ts";
import type { PiGuest } from "../scripts/pi-lab/guest.ts";
import {
  bootZeroWCard,
  gapP99,
  startLabHub,
  waitHeartbeat,
} from "../tests/support/pi_lab_agent.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { minutes: { type: "string", default: "10" } },
});
const minutes = Number(values.minutes);
if (!(minutes >= 1 && minutes <= 120)) throw new Error("--minutes must be 1 to 120");
const board = PI_BOARDS.zerow;
const t0 = performance.now();
const log = (l: string) =>
  console.log(`[led phase +${((performance.now() - t0) / 1000).toFixed(1)}s] ${l}`);
const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

const dir = await Deno.makeTempDir({ prefix: "led-phase-bench-" });
const hub = await startLabHub(dir);
let guest: PiGuest | null = null;
try {
  guest = (await bootZeroWCard(dir, hub, 17, log)).guest;
  const node = await waitHeartbeat(hub, guest, 17, log);
  if (node.agent?.led !== "heartbeat") throw new Error("the card's agent never showed heartbeat");
  await new Promise((r) => setTimeout(r, 10_000)); // settled: the nap's lateness learnt
  log(`sampling GPLEV0 bit ${board.ledGpio} for ${minutes} min (load average ${loadavg()})`);
  const samples: Sample[] = [];
  for (let m = 0; m < minutes; m++) {
    const minute = await sampleBit(guest.qmp, board.gplev0, board.ledGpio, 60_000);
    for (const s of minute) samples.push(s);
    const r = blinkReport(minute, 1000, true);
    log(
      `minute ${m + 1}: lit edges ${
        edgesOf(minute).filter((e) => e.level === 0).length
      }, error p50 ${r.gridErrorP50.toFixed(1)} / p99 ${r.gridErrorP99.toFixed(1)} / max ${
        r.gridErrorMax.toFixed(1)
      } ms, sample gap p99 ${gapP99(minute).toFixed(1)} ms, load ${loadavg()}`,
    );
  }
  const all = blinkReport(samples, 1000, true);
  const lit = edgesOf(samples).filter((e) => e.level === 0);
  const span = (samples.at(-1)!.t - samples[0].t) / 1000;
  const gaps = samples.slice(1).map((s, i) => s.t - samples[i].t);
  console.log(
    `\n| window | lit edges (expected) | error p50 / p99 / max (ms) | lit / dark median (ms) | sample gap p50 / p99 / max (ms) | load average at the end |`,
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  console.log(
    `| ${(span / 60).toFixed(1)} min | ${lit.length} (${Math.round(span)}) | ${
      all.gridErrorP50.toFixed(1)
    } / ${all.gridErrorP99.toFixed(1)} / ${all.gridErrorMax.toFixed(1)} | ${
      all.onMs.toFixed(0)
    } / ${all.offMs.toFixed(0)} | ${quantile(gaps, 0.5).toFixed(1)} / ${
      quantile(gaps, 0.99).toFixed(1)
    } / ${all.maxSampleGap.toFixed(0)} | ${loadavg()} |`,
  );
  console.log(`\nJSON ${JSON.stringify({ minutes, span, litEdges: lit.length, ...all })}`);
} finally {
  await guest?.stop();
  await hub.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
