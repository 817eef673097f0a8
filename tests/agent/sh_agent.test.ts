/**
 * The POSIX-sh agent (node-agent/sh/cluster-agent.sh, for the Pi Zero W) against the fake
 * hub over real HTTP, on a sysfs-like tree whose "kernel" creates gpioN when N is written to
 * `export`. Runs under every shell found (dash, busybox sh, sh); no tight timing assertions.
 */
import assert from "node:assert/strict";
import { realClock } from "../../shared/clock.ts";
import { FakeHub } from "./fake_hub.ts";

const SCRIPT = new URL("../../node-agent/sh/cluster-agent.sh", import.meta.url).pathname;
const PI0W = new URL("../fixtures/pi/pi0w", import.meta.url).pathname;

async function which(cmd: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).output();
    const path = new TextDecoder().decode(out.stdout).trim();
    return out.success && path ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Shells to run the agent under: [name, argv prefix]. */
const SHELLS: [string, string[]][] = [];
for (const [name, argv] of [["dash", ["dash"]], ["busybox", ["busybox", "sh"]]] as const) {
  if (await which(argv[0])) SHELLS.push([name, [...argv]]);
  else console.warn(`sh agent: ${name} not installed (scripts/agent/install-test-deps.sh)`);
}
if (SHELLS.length === 0) SHELLS.push(["sh", ["sh"]]);

/** A sysfs tree for a 6.6 kernel on a Zero W (main chip base 512) with a minimal kernel. */
class ShSysfs {
  readonly gpio: string;
  #stop = false;
  #kernel: Promise<void>;
  /** [ms, level] of every level change seen on gpio533/value (polled). */
  readonly edges: [number, string][] = [];

  constructor(readonly root: string) {
    this.gpio = `${root}/class/gpio`;
    Deno.mkdirSync(`${this.gpio}/gpiochip512`, { recursive: true });
    Deno.mkdirSync(`${this.gpio}/gpiochip570`);
    Deno.writeTextFileSync(`${this.gpio}/gpiochip512/label`, "pinctrl-bcm2835\n");
    Deno.writeTextFileSync(`${this.gpio}/gpiochip512/base`, "512\n");
    Deno.writeTextFileSync(`${this.gpio}/gpiochip570/label`, "raspberrypi-exp-gpio\n");
    Deno.writeTextFileSync(`${this.gpio}/gpiochip570/base`, "570\n");
    Deno.writeTextFileSync(`${this.gpio}/export`, "");
    Deno.writeTextFileSync(`${this.gpio}/unexport`, "");
    this.#kernel = this.#run();
  }

  read(name: string): string | undefined {
    try {
      return Deno.readTextFileSync(`${this.gpio}/${name}`).trim();
    } catch {
      return undefined;
    }
  }

  async #run(): Promise<void> {
    let last: string | undefined;
    while (!this.#stop) {
      const exp = this.read("export");
      if (exp === "533" && this.read("gpio533/direction") === undefined) {
        Deno.mkdirSync(`${this.gpio}/gpio533`);
        Deno.writeTextFileSync(`${this.gpio}/gpio533/direction`, "in\n");
        Deno.writeTextFileSync(`${this.gpio}/gpio533/value`, "0\n");
      }
      const v = this.read("gpio533/value");
      if (v !== undefined && v !== "" && v !== last) {
        this.edges.push([performance.now(), v]);
        last = v;
      }
      await realClock.sleep(5);
    }
  }

  async close(): Promise<void> {
    this.#stop = true;
    await this.#kernel;
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await realClock.sleep(50);
  }
}

function spawnAgent(shell: string[], hubUrl: string, key: string, sysfs: string, extra: string[]) {
  return new Deno.Command(shell[0], {
    args: [
      ...shell.slice(1),
      SCRIPT,
      "--hub",
      hubUrl,
      "--key",
      key,
      "--root",
      PI0W,
      "--sysfs-root",
      sysfs,
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

for (const [name, shell] of SHELLS) {
  Deno.test(`sh agent (${name}): exports the line, beats inverted, reports, obeys, stops clean`, async () => {
    const hub = new FakeHub(realClock);
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, ["--interval-ms", "300"]);
    let stderr = "";
    try {
      await waitFor("two heartbeats", () => hub.accepted.length >= 2);
      const hb = hub.accepted[0];
      assert.deepEqual(
        [hb.identity.model, hb.identity.hostname, hb.identity.node, hb.identity.mac],
        ["pi0w", "node17", 17, "b8:27:eb:8e:7d:6c"],
      );
      assert.equal(hb.identity.boardName, "Raspberry Pi Zero W Rev 1.1");
      assert.equal(hb.health.memTotalBytes, 439452 * 1024);
      assert.equal(hb.health.cpuTempCelsius, 39.704);
      assert.equal(hb.led, "heartbeat");
      assert.ok(hub.received.every((r) => r.auth === `Bearer ${hub.key}`));
      // seq counts heartbeats from 0; under load a first request may time out before it
      // reaches the hub, so check the count rises rather than that 0 and 1 both arrived.
      const seqs = hub.accepted.map((h) => h.seq);
      assert.ok(seqs[0] <= 2, `first seq ${seqs[0]}`);
      assert.ok(seqs.every((x, i) => i === 0 || x > seqs[i - 1]), `seqs ${seqs}`);
      assert.equal(sysfs.read("export"), "533", "GPIO 21 is global line 512 + 21");
      assert.equal(sysfs.read("gpio533/direction"), "low");
      await waitFor("a few LED cycles", () => sysfs.edges.length >= 6);
      // Zero W heartbeat is inverted: on only briefly. Compare total time on vs off.
      let on = 0, off = 0;
      for (let i = 1; i < sysfs.edges.length; i++) {
        const d = sysfs.edges[i][0] - sysfs.edges[i - 1][0];
        if (sysfs.edges[i - 1][1] === "1") on += d;
        else off += d;
      }
      assert.ok(on < off, `on ${on} ms vs off ${off} ms`);

      hub.led = "on";
      await waitFor("the agent to show on", () => hub.accepted.at(-1)?.led === "on");
      await waitFor("the LED to be on", () => sysfs.read("gpio533/value") === "1");
      await realClock.sleep(300);
      assert.equal(sysfs.read("gpio533/value"), "1", "and to stay on");
    } finally {
      child.kill("SIGTERM");
      const [status, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
      stderr = err;
      await sysfs.close();
      await server.close();
      assert.equal(status.code, 0, stderr);
    }
    assert.equal(sysfs.read("gpio533/value"), "0", "LED left off");
    assert.equal(sysfs.read("unexport"), "533", "line released");
    assert.match(stderr, /stopped: LED off, GPIO 21 released/);
    await Deno.remove(sysfs.root, { recursive: true });
  });

  Deno.test(`sh agent (${name}): hub errors → fault, then back to the hub's mode`, async () => {
    const hub = new FakeHub(realClock);
    hub.behaviour = "error500";
    hub.intervalMs = 200; // below the 600 ms fault threshold of this test
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, [
      "--interval-ms",
      "200",
      "--fault-ms",
      "600",
    ]);
    try {
      await waitFor("failed attempts past the fault threshold", () => hub.received.length >= 3);
      await realClock.sleep(800);
      hub.behaviour = "up";
      await waitFor("a heartbeat after the outage", () => hub.accepted.length >= 1);
      assert.equal(hub.accepted[0].led, "fault");
      await waitFor("heartbeat shown again", () => hub.accepted.at(-1)?.led === "heartbeat");
    } finally {
      child.kill("SIGTERM");
      const [status, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
      await sysfs.close();
      await server.close();
      assert.equal(status.code, 0, err);
      assert.match(err, /heartbeat failed/);
    }
    await Deno.remove(sysfs.root, { recursive: true });
  });
}

Deno.test("sh agent: refuses to run without a key, and on a tree without a Pi chip", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const run = async (args: string[]) => {
      const out = await new Deno.Command(SHELLS[0][1][0], {
        args: [...SHELLS[0][1].slice(1), SCRIPT, "--root", empty, "--sysfs-root", empty, ...args],
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code: out.code, err: new TextDecoder().decode(out.stderr) };
    };
    const noKey = await run([]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /no agent key/);
    const noChip = await run(["--key", "k", "--hostname", "node3"]);
    assert.equal(noChip.code, 2);
    assert.match(noChip.err, /no Raspberry Pi GPIO chip/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
