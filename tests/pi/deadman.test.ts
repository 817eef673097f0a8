/**
 * The Deno agent's dead-man with the kernel LED engine, on an emulated Raspberry Pi 3B+ (QEMU
 * raspi3b, Debian's arm64 kernel, the board's own device tree with the bay LED node that
 * `dtoverlay=gpio-led,gpio=21,label=bay` adds, built in by scripts/image/bay-led-dtb.sh;
 * leds-gpio and ledtrig-pattern): the agent installed by install-agent.sh --mode bundle (Deno for arm64),
 * started as its unit starts it (tests/pi/guest/agent_init.sh), reporting to a real hub over
 * QEMU's user net. Checked from outside the guest, in GPLEV0 bit 21 (lit high on the 3B+):
 *  - the agent says the kernel blinks the bay LED, the kernel blinks the heartbeat (900 ms on,
 *    100 ms off), and the hub shows node 1 running;
 *  - SIGSTOP of the agent (a hung agent) stops the alive pattern within 3 s, LED dark; after
 *    SIGCONT it blinks again;
 *  - kill -9 of the agent stops it within 3 s, LED dark.
 * The sh agent's dead-man is checked on the Zero W card (zerow_card.test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import type { NodeStatus } from "../../shared/schemas.ts";
import { assertDeadMan, seePattern, startLabHub, typeOnConsole } from "../support/pi_lab_agent.ts";
import { arm64Root, must, piLabTest, skipUnlessLab, sleep } from "./_lab.ts";

const PROJ = new URL("../../", import.meta.url).pathname;
const board = PI_BOARDS["pi3b+"];
const skip = await skipUnlessLab("Pi lab (Deno agent's dead-man)", board, [
  "npm",
  "fdtget",
  "fdtput",
]);

piLabTest(
  "pi lab 3B+: the Deno agent's kernel LED engine blinks the bay LED; SIGSTOP and kill -9 each stop the alive pattern within 3 s (GPLEV0)",
  { skip, board, run: "deadman" },
  async ({ dir, log, initramfs, start, atEnd }) => {
    const { root: R, userland } = await arm64Root(dir);
    const hub = await startLabHub(dir);
    atEnd(hub.stop);
    await Deno.writeTextFile(join(dir, "key"), "K\n");
    // the installer users run, into the guest's root, with Deno for arm64
    await must("sh", [
      `${PROJ}scripts/agent/install-agent.sh`,
      "--root",
      R,
      "--mode",
      "bundle",
      "--deno-binary",
      `${userland}/deno`,
      "--hub",
      `http://10.0.2.2:${hub.port}`,
      "--key-file",
      join(dir, "key"),
    ], {
      ...Deno.env.toObject(),
      PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}`,
    });
    const boot = await initramfs(`${PROJ}tests/pi/guest/agent_init.sh`, [R]);
    // The 3B+'s device tree with the bay LED node (GPIO 21, lit high). Debian's arm64 device
    // trees carry no __symbols__, so the gpio-led overlay cannot be applied to them (neither
    // by fdtoverlay nor by the firmware): the node is built in (scripts/image/bay-led-dtb.sh).
    const dtb = join(dir, "board.dtb");
    await must("sh", [`${PROJ}scripts/image/bay-led-dtb.sh`, boot.dtb, dtb, "21", "0"]);
    // The Bluetooth node under the PL011 disabled (as the card's cm-disable-bt overlay does):
    // otherwise serdev owns ttyAMA0, the console prints but takes no input.
    await must("fdtput", [
      "-t",
      "s",
      dtb,
      "/soc/serial@7e201000/bluetooth",
      "status",
      "disabled",
    ]);
    log("agent installed, device tree built");
    await hub.api("POST", "/nodes/1/power", { state: "on" });
    const guest = await start({
      ...boot,
      dir: join(dir, "guest"),
      dtb,
      append: "rdinit=/init loglevel=4",
      serialInput: true,
      net: { kind: "user" },
    });
    await guest.waitForConsole(/PI-AGENT started/, 120_000);
    const led = (await guest.waitForConsole(/PI-AGENT led ([^\n]*)/, 1000))[1];
    log(`agent started; bay LED triggers: ${led}`);
    assert.match(led, /\[pattern\]/, "bay-led-setup selected the pattern trigger");

    let node = {} as NodeStatus;
    for (let i = 0; i < 300; i++) {
      node = await hub.api("GET", "/nodes/1");
      if (node.lifecycle === "running" && node.agent?.led === "heartbeat") break;
      if (guest.exited) throw new Error("QEMU exited");
      await sleep(1000);
    }
    log(`hub: node 1 ${node.lifecycle}, LED ${node.agent?.led}`);
    assert.equal(node.lifecycle, "running");
    assert.equal(node.agent?.identity.model, "pi3b+");
    assert.match(await guest.console(), /the kernel blinks the bay LED/, "LED engine kernel");
    assert.equal(node.agent?.led, "heartbeat");

    // the kernel blinks the heartbeat: 900 ms lit (GPIO high), 100 ms dark
    await seePattern(guest, board, 900, 100, log);

    const type = async (cmd: string) => {
      const from = (await guest.console()).length;
      await typeOnConsole(guest, `${cmd}\r`);
      const until = performance.now() + 10_000;
      while (!(await guest.console()).slice(from).includes(`PI-AGENT did ${cmd}`)) {
        if (performance.now() > until) throw new Error(`the guest did not take "${cmd}"`);
        await sleep(50);
      }
    };
    await assertDeadMan(guest, board, "SIGSTOP", () => type("stop"), log);
    await type("cont");
    await sleep(3000);
    await seePattern(guest, board, 900, 100, log, { periods: 2 }); // blinking again
    await assertDeadMan(guest, board, "kill -9", () => type("kill"), log);
  },
);
