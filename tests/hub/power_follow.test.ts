/**
 * What follows a rail on the hub: a node switched off ends its identify request (its LED is
 * dark; the dashboard showed "identify requested" on an off node), and a node switched on gets
 * a boot marker in its console history, between one boot's output and the next.
 */
import assert from "node:assert/strict";
import { BOOT_MARK } from "../../hub/console/consoles.ts";
import { startTestHub } from "../support/test_hub.ts";
import { waitFor } from "../live/live_support.ts";

Deno.test("power off ends identify (led_changed says why); a request made while off waits", async () => {
  const t = await startTestHub();
  try {
    const { hub } = t;
    await hub.jobs.wait(hub.powerControl.power([7, 8], "on").id);
    hub.nodeSettings.setLed(7, "identify");
    hub.nodeSettings.setLed(8, "on");
    await hub.jobs.wait(hub.powerControl.power([7, 8], "off").id);
    assert.equal(hub.status.node(7).ledRequested, null, "identify ended with the power");
    assert.equal(hub.status.node(8).ledRequested, "on", "other LED modes are left as asked");
    const ended = hub.events.latest(20).findLast((e) => e.type === "led_changed" && e.node === 7);
    assert.equal(ended?.data.reason, "switched off");
    assert.match(ended!.message, /identify ended, switched off/);
    // Asked for while the node is off, identify stays requested for when it runs.
    hub.nodeSettings.setLed(7, "identify");
    assert.equal(hub.status.node(7).ledRequested, "identify");
    // A self test's rail pulse is no switch-off by the operator: the request stays.
    await hub.jobs.wait(hub.runs.testall([7]).id).catch(() => {});
    assert.equal(hub.status.node(7).ledRequested, "identify");
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("a boot marker line in the console where each power-on begins, on a line of its own", async () => {
  const t = await startTestHub({ settings: { simBootMs: 200 } });
  try {
    const { hub } = t;
    await hub.jobs.wait(hub.powerControl.power([5], "on").id);
    await waitFor(
      () => hub.consoles.history(5, 500).lines.some((l) => /login:/.test(l.text)),
      "the first boot reaches the login prompt",
    );
    await hub.jobs.wait(hub.powerControl.power([5], "cycle").id);
    await waitFor(
      () => hub.consoles.history(5, 500).lines.filter((l) => /login:/.test(l.text)).length >= 2,
      "the second boot reaches the login prompt",
    );
    const lines = hub.consoles.history(5, 500).lines.map((l) => l.text);
    const marks = lines.flatMap((l, i) => l.startsWith(BOOT_MARK) ? [i] : []);
    assert.equal(marks.length, 2, lines.join("\n"));
    assert.match(lines[marks[0]], /node 5 powered on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    // The first boot's prompt (left mid-line) ends before the second marker.
    const prompts = lines.flatMap((l, i) => /login:/.test(l) ? [i] : []);
    assert.ok(
      marks[0] < prompts[0] && prompts[0] < marks[1] && marks[1] < prompts[1],
      lines.join("\n"),
    );
    // The prompt was left mid-line: the marker starts a new line, and adds no blank one.
    assert.equal(lines[marks[1] - 1], lines[prompts[0]], lines.join("\n"));
    assert.ok(lines.every((l) => l.startsWith(BOOT_MARK) || !l.includes(BOOT_MARK)));
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
