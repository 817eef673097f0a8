/**
 * The sh agent's kernel LED engine (node-agent/sh/cluster-agent.sh, `--led-engine`): the same
 * dead-man patterns as the Deno agent's (shared/led/kernel_pattern.ts), restarts once a second
 * from the reporting loop, heartbeats that say `ledEngine: kernel`, no command forked at all under
 * busybox (naps are `read -t`, heartbeats go over one kept-alive `busybox nc` connection; dash:
 * curl per heartbeat and `sleep` naps), the hub's mode taken,
 * the LED left dark on SIGTERM, and the fall-back where the LED node lacks the pattern trigger.
 * The LED is a directory like the kernel's after the unit's ExecStartPre (`[pattern]`
 * selected, `pattern` and `repeat` there); what the kernel then does with them is the Deno
 * agent's test (fake_led_class.ts) and the Pi lab's (GPLEV0 on an emulated Zero W).
 */
import assert from "node:assert/strict";
import { realClock } from "../../shared/clock.ts";
import { kernelPattern } from "../../shared/led/kernel_pattern.ts";
import { FAULT, HEARTBEAT, ledPatternFor } from "../../shared/led/patterns.ts";
import type { LedMode } from "../../shared/wire_schemas.ts";
import { FakeHub } from "./fake_hub.ts";

const SCRIPT = new URL("../../node-agent/sh/cluster-agent.sh", import.meta.url).pathname;
const PI0W = new URL("../fixtures/pi/pi0w", import.meta.url).pathname;

async function which(cmd: string): Promise<string | undefined> {
  const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).output();
  const path = new TextDecoder().decode(out.stdout).trim();
  return out.success && path ? path : undefined;
}

const SHELLS: [string, string[]][] = [];
for (const [name, argv] of [["dash", ["dash"]], ["busybox", ["busybox", "sh"]]] as const) {
  if (await which(argv[0])) SHELLS.push([name, [...argv]]);
}

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await realClock.sleep(50);
  }
}

/** A sysfs tree holding only the bay LED, its trigger list as given. */
async function ledTree(trigger = "none timer heartbeat [pattern]"): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "sh-kled-" });
  const led = `${root}/class/leds/bay`;
  await Deno.mkdir(led, { recursive: true });
  await Deno.writeTextFile(`${led}/trigger`, `${trigger}\n`);
  await Deno.writeTextFile(`${led}/brightness`, "0\n");
  if (trigger.includes("[pattern]")) {
    await Deno.writeTextFile(`${led}/pattern`, "");
    await Deno.writeTextFile(`${led}/repeat`, "-1\n");
  }
  return root;
}

/** A directory of wrappers first on PATH: each logs its name, then runs the real command. */
async function loggingBin(cmds: string[], log: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sh-kled-bin-" });
  for (const cmd of cmds) {
    const real = await which(cmd);
    if (!real) continue;
    await Deno.writeTextFile(
      `${dir}/${cmd}`,
      `#!/bin/sh\necho ${cmd} >>${log}\nexec ${real} "$@"\n`,
    );
    await Deno.chmod(`${dir}/${cmd}`, 0o755);
  }
  return dir;
}

/** Counts writes to a file (inotify; the two events of one `echo >` count once). */
function countWrites(path: string) {
  const times: number[] = [];
  const w = Deno.watchFs(path);
  const done = (async () => {
    for await (const e of w) {
      const t = Date.now();
      if (e.kind === "modify" && (times.length === 0 || t - times.at(-1)! > 20)) times.push(t);
    }
  })();
  return {
    times,
    async stop() {
      w.close();
      await done;
    },
  };
}

function spawn(shell: string[], args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(shell[0], {
    args: [...shell.slice(1), SCRIPT, ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function stop(child: Deno.ChildProcess): Promise<{ code: number; stderr: string }> {
  child.kill("SIGTERM");
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  return { code: status.code, stderr };
}

Deno.test("sh agent: its kernel patterns are the Deno agent's, mode by mode", async () => {
  for (const mode of ["heartbeat", "identify", "fault", "on", "off"] as LedMode[]) {
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `eval "$(sed -n '/^kernel_pattern() {/,/^}/p' '${SCRIPT}')"; kernel_pattern ${mode}; echo "$PAT"`,
      ],
    }).output();
    assert.equal(
      new TextDecoder().decode(out.stdout).trim(),
      kernelPattern(ledPatternFor(mode)).text,
      mode,
    );
  }
});

for (const [name, shell] of SHELLS) {
  Deno.test(`sh agent (${name}): kernel engine restarts once a second, reports ledEngine kernel, forks nothing per heartbeat (busybox; dash: curl), takes the hub's mode, leaves the LED dark`, async () => {
    const hub = new FakeHub(realClock);
    hub.holds = true; // would hold an answer asked to be held; the sh agent asks for none
    const server = hub.serve();
    const sys = await ledTree();
    const led = `${sys}/class/leds/bay`;
    const tmp = await Deno.makeTempDir({ prefix: "sh-kled-tmp-" });
    const log = `${tmp}/commands`;
    const watched = [
      "sleep",
      "date",
      "mv",
      "cat",
      "sed",
      "tr",
      "head",
      "od",
      "mkfifo",
      "mktemp",
      "busybox",
      "nc",
    ];
    const bin = await loggingBin(["curl", ...watched], log);
    const child = spawn(shell, [
      "--hub",
      server.url,
      "--key",
      hub.key,
      "--root",
      PI0W,
      "--sysfs-root",
      sys,
    ], { PATH: `${bin}:${Deno.env.get("PATH")}`, TMPDIR: tmp });
    const repeats = countWrites(`${led}/repeat`);
    let result;
    let window: string[] = [];
    let beats = 0;
    try {
      await waitFor("two heartbeats", () => hub.accepted.length >= 2, 30_000);
      assert.equal(hub.accepted[0].ledEngine, "kernel");
      assert.equal(hub.accepted[0].led, "heartbeat");
      // no held answers for the sh agent (the Zero W card's lab run stalled once with them)
      assert.equal(hub.accepted[0].holdMs, undefined);
      assert.equal(
        (await Deno.readTextFile(`${led}/pattern`)).trim(),
        kernelPattern(ledPatternFor("heartbeat")).text,
      );
      // Between heartbeats nothing forks; a heartbeat forks curl (and dash's naps, sleep).
      await Deno.writeTextFile(log, "");
      const before = hub.accepted.length;
      const t0 = Date.now();
      await waitFor("four more heartbeats", () => hub.accepted.length >= before + 4, 30_000);
      beats = hub.accepted.length - before;
      window = (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "");
      const restarts = repeats.times.filter((t) => t >= t0).length;
      const seconds = (Date.now() - t0) / 1000;
      assert.ok(
        Math.abs(restarts - seconds) <= 2,
        `${restarts} restarts in ${seconds.toFixed(1)} s`,
      );
      // The hub asks for identify: its pattern is handed to the kernel within two passes.
      hub.led = "identify";
      await waitFor(
        "the identify pattern",
        () =>
          Deno.readTextFileSync(`${led}/pattern`).trim() ===
            kernelPattern(ledPatternFor("identify")).text,
        10_000,
      );
      await waitFor("a heartbeat showing identify", () => hub.accepted.at(-1)?.led === "identify");
    } finally {
      result = await stop(child);
      await repeats.stop();
      await server.close();
    }
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /the kernel blinks the bay LED/);
    assert.equal((await Deno.readTextFile(`${led}/pattern`)).trim(), "0 1000 0 0");
    // busybox: one kept-alive connection (busybox nc, started before the window), so a
    // heartbeat forks nothing; dash: curl per heartbeat, and sleep for its naps.
    const allowed = name === "busybox" ? [] : ["curl", "sleep"];
    const others = window.filter((c) => !allowed.includes(c));
    assert.deepEqual(others, [], `forked during ${beats} heartbeats: ${window}`);
    if (name === "busybox") {
      assert.match(result.stderr, /naps: read; heartbeats: one kept-alive connection/);
    } else assert.ok(window.filter((c) => c === "curl").length >= beats - 1, `${window}`);
    await Deno.remove(sys, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
    await Deno.remove(bin, { recursive: true });
  });
}

Deno.test("sh agent: no pattern trigger → its own engine, said once; --led-engine kernel refuses", async () => {
  const shell = SHELLS[0]?.[1] ?? ["sh"];
  const hub = new FakeHub(realClock);
  const server = hub.serve();
  const sys = await ledTree("none timer heartbeat");
  // the GPIO the agent's own engine needs
  const gpio = `${sys}/class/gpio`;
  await Deno.mkdir(`${gpio}/gpiochip0`, { recursive: true });
  await Deno.writeTextFile(`${gpio}/gpiochip0/label`, "pinctrl-bcm2835\n");
  await Deno.writeTextFile(`${gpio}/gpiochip0/base`, "0\n");
  await Deno.mkdir(`${gpio}/gpio21`);
  await Deno.writeTextFile(`${gpio}/gpio21/direction`, "in\n");
  await Deno.writeTextFile(`${gpio}/gpio21/value`, "0\n");
  const tmp = await Deno.makeTempDir({ prefix: "sh-kled-tmp-" });
  const args = ["--hub", server.url, "--key", hub.key, "--root", PI0W, "--sysfs-root", sys];
  try {
    const child = spawn(shell, args, { TMPDIR: tmp });
    await waitFor("three heartbeats", () => hub.accepted.length >= 3);
    const r = await stop(child);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(hub.accepted.at(-1)!.ledEngine, "agent");
    assert.equal(hub.accepted.at(-1)!.holdMs, undefined); // its curl waits in the foreground
    const said = r.stderr.split("\n").filter((l) => /no pattern trigger/.test(l));
    assert.equal(said.length, 1, r.stderr);
    assert.match(said[0], /the agent blinks the bay LED itself/);

    const forced = spawn(shell, [...args, "--led-engine", "kernel"], { TMPDIR: tmp });
    const [status, err] = await Promise.all([forced.status, new Response(forced.stderr).text()]);
    assert.equal(status.code, 2);
    assert.match(err, /--led-engine kernel: .*has no pattern trigger \(load ledtrig-pattern\)/);
  } finally {
    await server.close();
    await Deno.remove(sys, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name:
    "sh agent (busybox): the hub goes away and comes back on its port: fault, then a new connection, heartbeats resume",
  ignore: !SHELLS.some(([n]) => n === "busybox"),
  async fn() {
    const hub = new FakeHub(realClock);
    const serve = (port: number) =>
      Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (r) => hub.handle(r));
    let server = serve(0);
    const port = server.addr.port;
    const sys = await ledTree();
    const led = `${sys}/class/leds/bay`;
    const tmp = await Deno.makeTempDir({ prefix: "sh-kled-tmp-" });
    const child = spawn(["busybox", "sh"], [
      "--hub",
      `http://127.0.0.1:${port}`,
      "--key",
      hub.key,
      "--root",
      PI0W,
      "--sysfs-root",
      sys,
    ], { TMPDIR: tmp });
    const pattern = () => Deno.readTextFileSync(`${led}/pattern`).trim();
    let result;
    try {
      await waitFor("two heartbeats", () => hub.accepted.length >= 2, 30_000);
      await server.shutdown(); // the hub goes away, and with it the kept connection
      await waitFor("the fault pattern", () => pattern() === kernelPattern(FAULT).text, 15_000);
      const before = hub.accepted.length;
      server = serve(port); // back, on the same port
      await waitFor("heartbeats again", () => hub.accepted.length >= before + 2, 20_000);
      await waitFor("the heartbeat pattern", () => pattern() === kernelPattern(HEARTBEAT).text);
    } finally {
      result = await stop(child);
      await server.shutdown();
    }
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /heartbeat failed/);
    assert.match(result.stderr, /hub answers again after \d+ failed heartbeat/);
    await Deno.remove(sys, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
  },
});
