/**
 * The Pi lab's ground truth, on an emulated Raspberry Pi 3B+ (QEMU raspi3b, Debian's arm64
 * kernel, the board's own mainline device tree): the kernel sees the board the agent must
 * recognise, GPIO goes through the SoC's own pinctrl-bcm2835 driver, and a line the guest drives
 * through sysfs shows, step by step and with the guest's timing, in the SoC's GPLEV0 register
 * read from outside over QMP.
 */
import assert from "node:assert/strict";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import { edgesOf, phases, sampleBit } from "../../scripts/pi-lab/gplev.ts";
import { PI_LAB_DIR } from "../../scripts/pi-lab/kernel.ts";
import { piLabTest, skipUnlessLab } from "./_lab.ts";

const board = PI_BOARDS["pi3b+"];
const skip = await skipUnlessLab("Pi lab (3B+ board)", board);

piLabTest(
  "pi lab 3B+: mainline device tree, pinctrl-bcm2835, GPIO 21 seen in GPLEV0 from outside",
  { skip, board, run: "board" },
  async ({ log, boot }) => {
    const guest = await boot(`${PI_LAB_DIR}/lab-init.sh`, "rdinit=/init loglevel=4 lab.gpio=21");
    // before the guest touches it, GPIO 21 is an input reading low
    assert.equal(((await guest.qmp.readPhys32(board.gplev0)) >>> 21) & 1, 0);
    const ready = await guest.waitForConsole(/LAB READY gpio=21 line=(\d+)/, 120_000);
    log(`guest ready (${ready[0]})`);
    const text = await guest.console();
    assert.match(text, new RegExp(`LAB MODEL: ${board.dtModel.replace("+", "\\+")}\\r?\\n`));
    const chip = text.match(/LAB CHIP base=(\d+) label=pinctrl-bcm2835/);
    assert.ok(chip, `no pinctrl-bcm2835 chip:\n${text.slice(-1500)}`);
    assert.equal(Number(ready[1]), Number(chip[1]) + 21);
    // the pattern starts 3 s after READY: high 1.5 s, low 1 s, high 0.5 s, low
    const samples = await sampleBit(guest.qmp, board.gplev0, board.ledGpio, 9000);
    const edges = edgesOf(samples);
    const { high, low } = phases(edges);
    log(
      `${samples.length} samples; edges ${edges.map((e) => e.level).join("")}; high ${
        high.map(Math.round)
      } ms, low ${low.map(Math.round)} ms`,
    );
    assert.deepEqual(edges.map((e) => e.level), [1, 0, 1, 0], "GPLEV0 bit 21 follows the guest");
    assert.equal(samples.at(-1)!.level, 0);
    // the guest's sleeps, as seen from outside (TCG and a loaded host stretch them a little)
    assert.ok(high[0] > 1300 && high[0] < 2500, `first high ${high[0]} ms (1500)`);
    assert.ok(low[0] > 850 && low[0] < 2000, `low ${low[0]} ms (1000)`);
    assert.ok(high[1] > 400 && high[1] < 1500, `second high ${high[1]} ms (500)`);
    const steps = (await guest.console()).match(/LAB (STEP \w+|DONE)/g);
    assert.deepEqual(steps, ["LAB STEP high", "LAB STEP low", "LAB STEP high", "LAB DONE"]);
  },
);
