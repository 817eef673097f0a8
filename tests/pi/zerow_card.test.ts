/**
 * The Pi Zero W card for real, on an emulated Zero W (QEMU raspi0): the card image that
 * `deno task image -- --board zerow` writes boots as the board's SD card (`-drive if=sd`;
 * the firmware's part, reading config.txt and applying the bay LED overlay, is played by
 * scripts/pi-lab/card.ts), systemd starts the sh agent installed by install-agent.sh, and it
 * reports to a real hub over QEMU's usb-net (QEMU has no WiFi: the card's wpa_supplicant has
 * nothing to join, its DHCP comes on usb0). Checked from outside the guest:
 *  - the hub shows node 17 running, model pi0w, LED engine kernel in its log;
 *  - GPLEV0 (0x20200034) bit 21: high 100 ms, low 900 ms (the inverted heartbeat, the kernel's
 *    pattern trigger on an active-low bay LED), rising edges on a 1 s grid; identify after the
 *    REST call;
 *  - SIGSTOP and kill -9 of the agent (typed on the serial console: the card's cm-disable-bt
 *    overlay keeps the PL011 a tty) each stop the alive pattern within 3 s.
 */
import assert from "node:assert/strict";
import { PI_BOARDS } from "../../scripts/pi-lab/boards.ts";
import { blinkReport } from "../../scripts/pi-lab/gplev.ts";
import { PiGuest } from "../../scripts/pi-lab/guest.ts";
import {
  assertDeadMan,
  bootZeroWCard,
  seePattern,
  startLabHub,
  typeOnConsole,
  waitHeartbeat,
} from "../support/pi_lab_agent.ts";
import { piLabTest, skipUnlessLab, sleep } from "./_lab.ts";

const board = PI_BOARDS.zerow;
const skip = await skipUnlessLab("Pi lab (Zero W card)", board, [
  "mmdebstrap",
  "mcopy",
  "mkfs.vfat",
  "sfdisk",
  "dtc",
  "fdtoverlay",
  "fdtput",
]);

/**
 * Logs in as root on the serial console (no password on the card). getty flushes its input
 * when it (re)prints the prompt, and a burst typed into it can be lost, so the name is typed a
 * key at a time after a fresh prompt, and the whole login is tried again if no shell prompt
 * follows.
 */
async function login(guest: PiGuest, log: (l: string) => void): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const from = (await guest.console()).length;
    await guest.sendConsole("\r");
    try {
      await waitTail(guest, from, /login: ?$/, 30_000);
      await sleep(300);
      await typeOnConsole(guest, "root\r", 60);
      await waitTail(guest, from, /root@[^\n]*[#$] ?$/m, 30_000);
      return;
    } catch (e) {
      log(`login, attempt ${attempt}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error("no shell on the serial console after 5 logins");
}

/** Waits until the console after offset `from` matches `re`. */
async function waitTail(guest: PiGuest, from: number, re: RegExp, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!re.test((await guest.console()).slice(from))) {
    if (performance.now() > until) throw new Error(`no ${re} on the console in ${ms} ms`);
    await sleep(200);
  }
}

piLabTest(
  "pi lab Zero W: the card boots in raspi0, its sh agent heartbeats, the kernel blinks the bay LED inverted, dead-man on SIGSTOP and kill -9",
  { skip, board, run: "zerow" },
  async ({ dir, log, watch, atEnd }) => {
    const hub = await startLabHub(dir);
    atEnd(hub.stop);
    const guest = watch((await bootZeroWCard(dir, hub, 17, log)).guest);
    // The hub sees the node: running, model pi0w, from the sh agent, showing its heartbeat.
    const node = await waitHeartbeat(hub, guest, 17, log);
    assert.equal(node.lifecycle, "running");
    assert.equal(node.agent?.identity.model, "pi0w");
    assert.equal(node.agent?.identity.boardName, "Raspberry Pi Zero W");
    assert.match(node.agent?.identity.agentVersion ?? "", /-sh$/);
    assert.equal(node.agent?.led, "heartbeat", "the agent's heartbeats come in time");

    // The inverted heartbeat, from outside: high 100 ms, low 900 ms, rising (lit) edges
    // on the guest's 1 s grid.
    const beat = await seePattern(guest, board, 100, 900, log);
    log(`heartbeat: ${JSON.stringify(blinkReport(beat, 1000, true))}`);

    // identify after the REST call: 100 ms high, 100 ms low
    await hub.api("POST", "/nodes/17/led", { mode: "identify" });
    await seePattern(guest, board, 100, 100, log, { periods: 5 });
    await hub.api("POST", "/nodes/17/led", { mode: "heartbeat" });
    await seePattern(guest, board, 100, 900, log, { periods: 2 });

    // The dead-man: the agent stopped (SIGSTOP), then killed (kill -9), typed on the serial
    // console; each must stop the alive pattern within 3 s and leave the LED dark.
    await login(guest, log);
    log("logged in on the serial console");
    await typeOnConsole(guest, "P=$(systemctl show -p MainPID --value cluster-agent)\r");
    for (
      const [how, cmd, resume] of [
        ["SIGSTOP", "kill -STOP $P", "kill -CONT $P"],
        ["kill -9", "kill -9 $P", ""],
      ]
    ) {
      await assertDeadMan(guest, board, how, () => typeOnConsole(guest, `${cmd}\r`), log);
      if (resume) {
        await typeOnConsole(guest, `${resume}\r`);
        await seePattern(guest, board, 100, 900, log, { periods: 2 }); // alive again
      }
    }
  },
);
