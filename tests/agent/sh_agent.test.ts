/**
 * The POSIX-sh agent (node-agent/sh/cluster-agent.sh, for the Pi Zero W) against the fake
 * hub over real HTTP, on a sysfs-like tree whose "kernel" creates gpioN when N is written to
 * `export`. Runs under every shell found (dash, busybox sh, sh); no tight timing assertions.
 */
import assert from "node:assert/strict";
import { realClock } from "../../shared/clock.ts";
import { FakeHub } from "./fake_hub.ts";
import { serveTestHub } from "../support/test_hub.ts";

const SCRIPT = new URL("../../node-agent/sh/cluster-agent.sh", import.meta.url).pathname;
const PI0W = new URL("../fixtures/pi/pi0w", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/pi/", import.meta.url).pathname;

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

function spawnAgent(
  shell: string[],
  hubUrl: string,
  key: string,
  sysfs: string,
  extra: string[],
  opts: { env?: Record<string, string>; root?: string } = {},
) {
  const keyArgs = extra.includes("--key-file") ? [] : ["--key", key];
  return new Deno.Command(shell[0], {
    args: [
      ...shell.slice(1),
      SCRIPT,
      "--hub",
      hubUrl,
      ...keyArgs,
      "--root",
      opts.root ?? PI0W,
      "--sysfs-root",
      sysfs,
      ...extra,
    ],
    env: opts.env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** A directory of wrapper commands put first on PATH: each runs `body`, then the real one. */
async function wrapperBin(wrappers: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sh-agent-bin-" });
  for (const [cmd, body] of Object.entries(wrappers)) {
    const real = await which(cmd);
    if (!real) throw new Error(`${cmd} is not installed`);
    await Deno.writeTextFile(`${dir}/${cmd}`, `#!/bin/sh\n${body}\nexec ${real} "$@"\n`);
    await Deno.chmod(`${dir}/${cmd}`, 0o755);
  }
  return dir;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The agent's state directory (mktemp -d under TMPDIR), once it exists. */
async function stateDir(tmp: string): Promise<string> {
  let dir: string | undefined;
  await waitFor("the state directory", () => {
    for (const e of Deno.readDirSync(tmp)) if (e.name.startsWith("cluster-agent.")) dir = e.name;
    return dir !== undefined;
  });
  return `${tmp}/${dir}`;
}

async function stop(child: Deno.ChildProcess): Promise<{ code: number; stderr: string }> {
  child.kill("SIGTERM");
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  return { code: status.code, stderr };
}

for (const [name, shell] of SHELLS) {
  Deno.test(`sh agent (${name}): exports the line, beats inverted, reports, obeys, stops clean`, async () => {
    const hub = new FakeHub(realClock);
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    // curl records its argv: the key must travel in its config file, not on a command line.
    const argvLog = `${sysfs.root}/curl-argv`;
    const bin = await wrapperBin({
      curl: `printf '%s\\n' "$@" >>${argvLog}; echo --- >>${argvLog}`,
    });
    const tmp = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    const keyFile = `${tmp}/key`;
    await Deno.writeTextFile(keyFile, `${hub.key}\n`);
    const child = spawnAgent(
      shell,
      server.url,
      hub.key,
      sysfs.root,
      ["--interval-ms", "300", "--key-file", keyFile],
      { env: { PATH: `${bin}:${Deno.env.get("PATH")}`, TMPDIR: tmp } },
    );
    let stderr = "";
    try {
      const confPath = `${await stateDir(tmp)}/curl.conf`;
      await waitFor("the curl config", () => exists(confPath));
      const conf = await Deno.stat(confPath);
      assert.equal(conf.mode! & 0o777, 0o600, "the curl config holding the key is private");
      await waitFor("two heartbeats", () => hub.accepted.length >= 2);
      const hb = hub.accepted[0];
      assert.deepEqual(
        [hb.identity.model, hb.identity.hostname, hb.identity.node, hb.identity.mac],
        ["pi0w", "node17", 17, "b8:27:eb:8e:7d:6c"],
      );
      assert.equal(hb.identity.boardName, "Raspberry Pi Zero W Rev 1.1");
      assert.equal(hb.health.memTotalBytes, 439452 * 1024);
      assert.equal(hb.health.cpuTempCelsius, 39.704);
      // The firmware's flags from sysfs (bare hex 50005): under-voltage and throttled.
      assert.equal(hb.health.throttled, 0x50005);
      assert.equal(hb.led, "heartbeat");
      assert.ok(hub.received.every((r) => r.auth === `Bearer ${hub.key}`));
      const argv = await Deno.readTextFile(argvLog);
      assert.match(argv, /\/api\/v1\/agent\/heartbeat/, "heartbeats went through curl");
      assert.ok(!argv.includes(hub.key), `the key is on curl's command line:\n${argv}`);
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
      // A quarantined node: the hub asks for the fault pattern, and the sh agent shows it.
      hub.led = "fault";
      await waitFor("the agent to show fault", () => hub.accepted.at(-1)?.led === "fault");
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
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), ["key"], "state removed");
    for (const dir of [sysfs.root, bin, tmp]) await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`sh agent (${name}): hub errors → fault, then back to the hub's mode`, async () => {
    const hub = new FakeHub(realClock);
    hub.behaviour = "error500";
    hub.intervalMs = 200;
    const server = hub.serve();
    const started = Date.now();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, [
      "--interval-ms",
      "200",
      "--fault-ms",
      "600",
    ]);
    try {
      await waitFor("failed attempts", () => hub.received.length >= 3);
      // The threshold in force: max(600, 2 × 200 + the 2 s request timeout) = 2400 ms.
      await realClock.sleep(started + 2400 + 800 - Date.now());
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

  Deno.test(`sh agent (${name}): a heartbeat runs no command but curl, mv and date`, async () => {
    // Each external command is a fork and an exec: milliseconds of a Zero W's one core. Health
    // and the reply are read with shell builtins (docs/agent.md#footprint).
    const hub = new FakeHub(realClock);
    hub.intervalMs = 200;
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const log = `${sysfs.root}/commands`;
    const watched = ["cat", "cut", "sed", "tr", "head", "awk", "grep", "od", "printf", "expr"];
    const present: string[] = [];
    for (const c of watched) if (await which(c)) present.push(c);
    const bin = await wrapperBin(
      Object.fromEntries(present.map((c) => [c, `echo ${c} >>${log}`])),
    );
    const tmp = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, [], {
      env: { PATH: `${bin}:${Deno.env.get("PATH")}`, TMPDIR: tmp },
    });
    let before = 0;
    try {
      await waitFor("two heartbeats", () => hub.accepted.length >= 2);
      before = hub.accepted.length;
      await Deno.writeTextFile(log, ""); // start-up (identity, state) may use them
      await waitFor("five more heartbeats", () => hub.accepted.length >= before + 5);
    } finally {
      await stop(child);
      await sysfs.close();
      await server.close();
    }
    const ran = (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "");
    assert.deepEqual(ran, [], `ran during ${hub.accepted.length - before} heartbeats: ${ran}`);
    await Deno.remove(sysfs.root, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
  });

  Deno.test(`sh agent (${name}): state files are replaced whole, never seen empty; no false fault`, async () => {
    const hub = new FakeHub(realClock);
    hub.intervalMs = 100;
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    // A loaded Zero W: every `date` (fork and exec) takes 100 ms.
    const bin = await wrapperBin({ date: "sleep 0.1" });
    const tmp = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, [], {
      env: { PATH: `${bin}:${Deno.env.get("PATH")}`, TMPDIR: tmp },
    });
    const empty = new Set<string>();
    const shown = new Set<string>();
    try {
      const state = await stateDir(tmp);
      const end = Date.now() + 3000;
      while (Date.now() < end || hub.accepted.length < 3) {
        for (const f of ["last_ok", "hub_led", "fault_ms", "shown"]) {
          let text;
          try {
            text = await Deno.readTextFile(`${state}/${f}`);
          } catch {
            continue; // not written yet
          }
          if (text === "") empty.add(f);
          if (f === "shown") shown.add(text.trim());
        }
        await realClock.sleep(5);
        if (Date.now() > end + 20_000) throw new Error("timed out waiting for heartbeats");
      }
    } finally {
      const { code, stderr } = await stop(child);
      await sysfs.close();
      await server.close();
      assert.equal(code, 0, stderr);
    }
    assert.deepEqual([...empty], [], "state files seen empty (truncated before written)");
    assert.deepEqual([...shown], ["heartbeat"], "the LED showed only the heartbeat");
    assert.ok(hub.accepted.every((h) => h.led === "heartbeat"));
    for (const dir of [sysfs.root, bin, tmp]) await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`sh agent (${name}): throttling from vcgencmd when the sysfs file is absent`, async () => {
    const hub = new FakeHub(realClock);
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const tmp = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    // A vcgencmd that answers as the firmware tool does (fixture: "throttled=0x50000").
    const bin = await Deno.makeTempDir({ prefix: "sh-agent-bin-" });
    const out = new URL("../fixtures/pi/vcgencmd/get_throttled.txt", import.meta.url).pathname;
    await Deno.writeTextFile(
      `${bin}/vcgencmd`,
      `#!/bin/sh\n[ "$1" = get_throttled ] && exec cat ${out}\nexit 1\n`,
    );
    await Deno.chmod(`${bin}/vcgencmd`, 0o755);
    const withTool = spawnAgent(shell, server.url, hub.key, sysfs.root, [], {
      root: `${FIXTURES}pi4`,
      env: { PATH: `${bin}:${Deno.env.get("PATH")}`, TMPDIR: tmp },
    });
    try {
      await waitFor("two heartbeats", () => hub.accepted.length >= 2);
      assert.equal(hub.accepted[0].health.throttled, 0x50000);
    } finally {
      const { code, stderr } = await stop(withTool);
      assert.equal(code, 0, stderr);
    }
    // Neither the file nor the tool: null, and the heartbeat is still valid. (A hub of its own:
    // the first agent's last request may still land on the first.)
    const hub2 = new FakeHub(realClock);
    const server2 = hub2.serve();
    const tmp2 = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    const sysfs2 = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const without = spawnAgent(shell, server2.url, hub2.key, sysfs2.root, [], {
      root: `${FIXTURES}pi4`,
      env: { TMPDIR: tmp2, PATH: Deno.env.get("PATH") ?? "" },
    });
    try {
      await waitFor("two heartbeats", () => hub2.accepted.length >= 2);
      assert.equal(hub2.accepted[0].health.throttled, null);
    } finally {
      const { code, stderr } = await stop(without);
      await sysfs.close();
      await sysfs2.close();
      await server.close();
      await server2.close();
      assert.equal(code, 0, stderr);
    }
    for (const dir of [sysfs.root, sysfs2.root, bin, tmp, tmp2]) {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`sh agent (${name}): an empty state file (a torn write) is ignored`, async () => {
    const hub = new FakeHub(realClock);
    hub.intervalMs = 1500; // last_ok is rewritten only every 1.5 s
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const tmp = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, [], { env: { TMPDIR: tmp } });
    const shown = new Set<string>();
    try {
      const state = await stateDir(tmp);
      const read = (f: string) => Deno.readTextFileSync(`${state}/${f}`).trim();
      await waitFor("a heartbeat", () => hub.accepted.length >= 1);
      const before = read("last_ok");
      await waitFor("the next good reply to be recorded", () => read("last_ok") !== before);
      for (const f of ["last_ok", "hub_led", "fault_ms"]) {
        Deno.writeTextFileSync(`${state}/${f}`, "");
      }
      const end = Date.now() + 1000; // the LED loop reads the files at least every 250 ms
      while (Date.now() < end) {
        shown.add(read("shown"));
        await realClock.sleep(10);
      }
    } finally {
      const { code, stderr } = await stop(child);
      await sysfs.close();
      await server.close();
      assert.equal(code, 0, stderr);
    }
    assert.deepEqual([...shown], ["heartbeat"], "an empty last_ok read as 0 shows fault");
    for (const dir of [sysfs.root, tmp]) await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`sh agent (${name}): a long hub interval does not show fault between heartbeats`, async () => {
    const hub = new FakeHub(realClock);
    hub.intervalMs = 1500;
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    // 500 ms alone would fault between heartbeats; in force: 2 × 1500 + 2000 = 5000 ms.
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, ["--fault-ms", "500"]);
    try {
      await waitFor("four heartbeats", () => hub.accepted.length >= 4);
    } finally {
      const { code, stderr } = await stop(child);
      await sysfs.close();
      await server.close();
      assert.equal(code, 0, stderr);
    }
    assert.deepEqual(hub.accepted.map((h) => h.led), Array(hub.accepted.length).fill("heartbeat"));
    await Deno.remove(sysfs.root, { recursive: true });
  });

  Deno.test(`sh agent (${name}): the /proc/uptime clock reads hundredths like 08 in decimal`, async () => {
    const hub = new FakeHub(realClock);
    hub.intervalMs = 300;
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    // A copy of the Zero W root whose /proc/uptime is kept by this "kernel": it reads
    // 4242.08 until the first heartbeat, then runs with real time in 10 ms steps.
    const root = `${sysfs.root}/root`;
    const cp = await new Deno.Command("cp", { args: ["-R", PI0W, root] }).output();
    assert.ok(cp.success);
    let startedAt: number | undefined;
    const uptime = (ms: number) => {
      const text = `${(ms / 1000).toFixed(2)} 1000.00\n`;
      Deno.writeTextFileSync(`${root}/proc/uptime.new`, text);
      Deno.renameSync(`${root}/proc/uptime.new`, `${root}/proc/uptime`); // never seen empty
    };
    uptime(4_242_080);
    let stopKernel = false;
    const kernel = (async () => {
      while (!stopKernel) {
        if (startedAt !== undefined) uptime(4_242_080 + performance.now() - startedAt);
        await realClock.sleep(10);
      }
    })();
    const child = spawnAgent(shell, server.url, hub.key, sysfs.root, ["--clock", "uptime"], {
      root,
    });
    let exited = false;
    child.status.then(() => exited = true);
    try {
      await waitFor("a heartbeat", () => hub.accepted.length >= 1 || exited);
      assert.ok(!exited, "the agent died reading the clock");
      startedAt = performance.now();
      await waitFor("LED cycles on the uptime clock", () => sysfs.edges.length >= 6 || exited);
      await waitFor("more heartbeats", () => hub.accepted.length >= 4 || exited);
      assert.ok(!exited, "the agent died reading the clock");
    } finally {
      stopKernel = true;
      await kernel;
      const { code, stderr } = await stop(child);
      await sysfs.close();
      await server.close();
      assert.equal(code, 0, stderr);
    }
    let on = 0, off = 0;
    for (let i = 1; i < sysfs.edges.length; i++) {
      const d = sysfs.edges[i][0] - sysfs.edges[i - 1][0];
      if (sysfs.edges[i - 1][1] === "1") on += d;
      else off += d;
    }
    assert.ok(on < off, `Zero W heartbeat: on ${on} ms vs off ${off} ms`);
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

Deno.test("sh agent: reports with its node's own key to a hub that refuses the shared key", async () => {
  const t = await serveTestHub({ settings: { sharedAgentKey: false } });
  const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-own-" }));
  const tmp = await Deno.makeTempDir({ prefix: "sh-agent-own-tmp-" });
  try {
    for (const n of [17, 18]) await t.call("POST", `/api/v1/nodes/${n}/power`, { state: "on" });
    // Node 18's key on the node17 fixture with nothing else saying: the key names the node.
    const key = t.hub.agentKeys.keyFor(18);
    await Deno.writeTextFile(`${tmp}/key`, key + "\n");
    const child = spawnAgent(SHELLS[0][1], t.url, key, sysfs.root, [
      "--interval-ms",
      "200",
      "--key-file",
      `${tmp}/key`,
    ], { env: { PATH: Deno.env.get("PATH")!, TMPDIR: tmp } });
    let stderr = "";
    try {
      await waitFor("node 18 running", () => t.hub.status.node(18).lifecycle === "running");
      assert.equal(t.hub.status.node(18).agent?.identity.node, 18);
      assert.equal(t.hub.status.node(17).agent, null);
    } finally {
      stderr = (await stop(child)).stderr;
    }
    assert.doesNotMatch(stderr, /40[13]/, stderr);
    // Told to be node 17 with node 18's key, it stops at once, as the hub would refuse it.
    const wrong = await new Deno.Command(SHELLS[0][1][0], {
      args: [
        ...SHELLS[0][1].slice(1),
        SCRIPT,
        "--hub",
        t.url,
        "--key",
        key,
        "--node",
        "17",
        "--root",
        PI0W,
        "--sysfs-root",
        sysfs.root,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(wrong.code, 2);
    assert.match(new TextDecoder().decode(wrong.stderr), /the agent key is node 18's/);
  } finally {
    await sysfs.close();
    await t.close();
    await Deno.remove(sysfs.root, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

for (const [name, shell] of SHELLS) {
  Deno.test(`sh agent (${name}): the mainline device tree's "Model B+" is a pi3b+`, async () => {
    // Debian's kernel boots the mainline device tree: "Raspberry Pi 3 Model B+", no revision
    // (read on the emulated 3B+ of the Pi lab, tests/pi/).
    const root = await Deno.makeTempDir({ prefix: "sh-agent-root-" });
    await new Deno.Command("cp", { args: ["-a", `${FIXTURES}pi3b+/.`, root] }).output();
    await Deno.writeTextFile(`${root}/proc/device-tree/model`, "Raspberry Pi 3 Model B+\0");
    const hub = new FakeHub(realClock);
    const server = hub.serve();
    const sysfs = new ShSysfs(await Deno.makeTempDir({ prefix: "sh-agent-" }));
    const tmp = await Deno.makeTempDir({ prefix: "sh-agent-tmp-" });
    const agent = spawnAgent(shell, server.url, hub.key, sysfs.root, [], {
      root,
      env: { TMPDIR: tmp, PATH: Deno.env.get("PATH") ?? "" },
    });
    try {
      await waitFor("a heartbeat", () => hub.accepted.length >= 1);
      assert.equal(hub.accepted[0].identity.model, "pi3b+");
      assert.equal(hub.accepted[0].identity.boardName, "Raspberry Pi 3 Model B+");
    } finally {
      const { code, stderr } = await stop(agent);
      await sysfs.close();
      await server.close();
      assert.equal(code, 0, stderr);
      for (const dir of [sysfs.root, tmp, root]) await Deno.remove(dir, { recursive: true });
    }
  });
}
