/**
 * The simulated node's serial line: the boot log follows the rail and the simulated boot time,
 * a login prompt at the end, a shell that echoes (not the password), power off cuts it.
 */
import assert from "node:assert/strict";
import { SimulatedNodeTty } from "../../../hub/console/simulated_console.ts";
import { bayAt, buildNodeMap } from "../../../shared/node_map.ts";
import { FakeClock } from "../../support/fakes/fake_clock.ts";

function tty(bootMs = 10_000, node = 7) {
  const clock = new FakeClock();
  const map = buildNodeMap({ nodeCount: 60 });
  const t = new SimulatedNodeTty(bayAt(map, node), map.hub.ip, clock, bootMs);
  let out = "";
  t.sink = (d) => (out += new TextDecoder().decode(d));
  const type = (s: string) => t.input(new TextEncoder().encode(s));
  return { t, clock, type, out: () => out };
}

Deno.test("simulated console: the boot log takes the boot time, then a login prompt", async () => {
  const { t, clock, out } = tty(10_000);
  t.power("on");
  await clock.advance(0);
  assert.match(out(), /Booting Linux/);
  assert.doesNotMatch(out(), /login:/);
  await clock.advance(5_000);
  assert.match(out(), /IP-Config: Got DHCP answer from 10\.42\.0\.250, my address is 10\.42\.0\.7/);
  assert.doesNotMatch(out(), /cluster-agent/);
  await clock.advance(5_000);
  assert.match(out(), /Started cluster-agent\.service/);
  assert.match(out(), /\r\nnode07 login: $/);
  assert.ok(out().split("\n").every((l, i, a) => i === a.length - 1 || l.endsWith("\r")), "CRLF");
  assert.match(out(), /Machine model: Raspberry Pi 3 Model B Plus Rev 1\.3\r\n/);
});

Deno.test("simulated console: login, echo without the password, backspace, Ctrl-C, exit", async () => {
  const { t, clock, type, out } = tty(0);
  t.power("on");
  await clock.advance(0);
  const start = out().length;
  type("pj\x7fi\r");
  type("hunter2\r");
  type("echo one two\r");
  type("sleep\x03");
  type("stty size\r");
  t.resize(100, 33);
  type("stty size\r");
  type("exit\r");
  const session = out().slice(start);
  assert.equal(
    session,
    "pj\b \bi\r\nPassword: \r\n" +
      "Linux node07 6.6.51+rpt-rpi-v8 #1 SMP PREEMPT Debian aarch64\r\n\r\n" +
      "This is a simulated node of the Cluster Module hub.\r\n" +
      "pi@node07:~$ echo one two\r\none two\r\n" +
      "pi@node07:~$ sleep^C\r\n" +
      "pi@node07:~$ stty size\r\n0 0\r\n" +
      "pi@node07:~$ stty size\r\n33 100\r\n" +
      "pi@node07:~$ exit\r\nlogout\r\n\r\nnode07 login: ",
  );
});

Deno.test("simulated console: power off cuts the boot short; typing at an off node does nothing; on boots again", async () => {
  const { t, clock, type, out } = tty(10_000, 19);
  t.power("on");
  await clock.advance(3_000);
  const cut = out();
  assert.match(cut, /wlan0: link up/, "a Zero W bay boots over WiFi");
  t.power("off");
  await clock.advance(20_000);
  type("root\r");
  assert.equal(out(), cut, "silence after power off, input ignored");
  assert.equal(t.state, "off");
  t.power("on");
  await clock.advance(10_000);
  assert.match(out().slice(cut.length), /^\[ +0\.000000\] Booting Linux/);
  assert.match(out(), /node19 login: $/);
});

Deno.test("simulated console: an injected boot fault shows in the boot log, not a clean boot", async () => {
  // No lease: ipconfig keeps asking, the root is never mounted, no login prompt.
  const lease = tty(10_000, 7);
  let asked = 0;
  lease.t.bootFault = () => (asked++, "no_lease");
  lease.t.power("on");
  await lease.clock.advance(10_000);
  assert.equal(asked, 1, "asked once, when the boot reached the network");
  assert.match(lease.out(), /Sending DHCP requests .*timed out!/);
  assert.match(lease.out(), /IP-Config: Retrying forever \(NFS root\)/);
  assert.doesNotMatch(lease.out(), /Got DHCP answer|Mounted root|login:/);
  // Lease but no heartbeat: the system boots, the agent's service fails.
  const agent = tty(10_000, 9);
  agent.t.bootFault = () => "no_heartbeat";
  agent.t.power("on");
  await agent.clock.advance(10_000);
  assert.match(agent.out(), /Got DHCP answer/);
  assert.match(agent.out(), /\[FAILED\] Failed to start cluster-agent\.service/);
  assert.doesNotMatch(agent.out(), /Started cluster-agent/);
  assert.match(agent.out(), /node09 login: $/);
  // The next boot is clean again (a transient fault).
  agent.t.bootFault = () => null;
  agent.t.power("off");
  agent.t.power("on");
  await agent.clock.advance(10_000);
  assert.match(agent.out(), /Started cluster-agent\.service/);
});
