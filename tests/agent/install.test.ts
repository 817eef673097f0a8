/** scripts/agent: the installer into a clyde root, and the systemd unit's directives. */
import assert from "node:assert/strict";
import { AgentConfigFile } from "../../node-agent/config.ts";

const SCRIPTS = new URL("../../scripts/agent/", import.meta.url).pathname;

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function installInto(args: string[]) {
  const root = await Deno.makeTempDir({ prefix: "clyde-root-" });
  const r = await run("sh", [`${SCRIPTS}install-agent.sh`, "--root", root, ...args]);
  return { root, ...r };
}

Deno.test("install (sh mode): unit, enable symlink, config, key 0600, runnable wrapper", async () => {
  const { root, code, stderr } = await installInto([
    "--mode",
    "sh",
    "--hub",
    "http://10.42.0.250:4242",
    "--key",
    "s3cret",
  ]);
  try {
    assert.equal(code, 0, stderr);
    const link = await Deno.readLink(
      `${root}/etc/systemd/system/multi-user.target.wants/cluster-agent.service`,
    );
    assert.equal(link, "/etc/systemd/system/cluster-agent.service");
    assert.equal(
      await Deno.readTextFile(`${root}/etc/systemd/system/cluster-agent.service`),
      await Deno.readTextFile(`${SCRIPTS}cluster-agent.service`),
    );
    const config = AgentConfigFile.parse(
      JSON.parse(await Deno.readTextFile(`${root}/etc/cluster-agent/agent.json`)),
    );
    assert.deepEqual(config, { hub: "http://10.42.0.250:4242" });
    const key = await Deno.stat(`${root}/etc/cluster-agent/key`);
    assert.equal(key.mode! & 0o777, 0o600);
    assert.equal((await Deno.readTextFile(`${root}/etc/cluster-agent/key`)).trim(), "s3cret");
    const wrapper = await Deno.readTextFile(`${root}/opt/cluster-agent/cluster-agent`);
    assert.match(wrapper, /cluster-agent\.sh --hub 'http:\/\/10\.42\.0\.250:4242' "\$@"/);
    // busybox's ash first: its read -t naps without forking (the kernel LED engine's loop)
    assert.match(wrapper, /exec busybox sh \/opt\/cluster-agent\/cluster-agent\.sh --hub/);
    assert.equal(
      (await Deno.readTextFile(`${root}/etc/modules-load.d/cluster-agent.conf`)).trim(),
      "ledtrig-pattern",
    );
    const unit = await Deno.readTextFile(`${root}/etc/systemd/system/cluster-agent.service`);
    assert.match(unit, /^ExecStartPre=\+\/bin\/sh \/opt\/cluster-agent\/bay-led-setup$/m);
    assert.ok((await Deno.stat(`${root}/opt/cluster-agent/bay-led-setup`)).isFile);
    // The installed sh agent itself runs (its help), from the clyde root.
    const help = await run("sh", [`${root}/opt/cluster-agent/cluster-agent.sh`, "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /minimal node agent for the Pi Zero W/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("install (bundle mode): one JS file that runs with the given Deno", async () => {
  // The host's deno stands in for the aarch64 one the installer would fetch from npm.
  const { root, code, stderr } = await installInto([
    "--key",
    "k",
    "--gpio-backend",
    "sysfs",
    "--deno-binary",
    Deno.execPath(),
  ]);
  try {
    assert.equal(code, 0, stderr);
    const js = await Deno.readTextFile(`${root}/opt/cluster-agent/cluster-agent.js`);
    assert.ok(js.length > 10_000, "the bundle carries its npm dependencies");
    // The agent validates with zod/mini: classic zod (~700 KB, ~15 MiB of RSS) stays out.
    assert.ok(js.length < 200_000, `bundle of ${js.length} bytes: classic zod got in?`);
    assert.doesNotMatch(js, /\$constructor\("ZodString"/, "classic zod is in the bundle");
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${root}/etc/cluster-agent/agent.json`)),
      { gpioBackend: "sysfs" },
    );
    const r = await run(`${root}/opt/cluster-agent/deno`, [
      "run",
      "--no-prompt",
      "--allow-all",
      `${root}/opt/cluster-agent/cluster-agent.js`,
      "--help",
    ], { DENO_DIR: `${root}/deno-dir`, DENO_NO_UPDATE_CHECK: "1" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--gpio-backend B/);
    // The wrapper itself (its paths pointed at the temp root): Deno accepts its V8 flags.
    const wrapper = (await Deno.readTextFile(`${root}/opt/cluster-agent/cluster-agent`))
      .replaceAll("/opt/cluster-agent/", `${root}/opt/cluster-agent/`);
    assert.match(wrapper, /--v8-flags=--single-threaded,--max-old-space-size=64/);
    await Deno.writeTextFile(`${root}/wrapper.sh`, wrapper);
    const w = await run("sh", [`${root}/wrapper.sh`, "--help"], {
      DENO_DIR: `${root}/deno-dir`,
      DENO_NO_UPDATE_CHECK: "1",
    });
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /--gpio-backend B/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("install: refuses without a root or a key", async () => {
  const noRoot = await run("sh", [`${SCRIPTS}install-agent.sh`, "--key", "k"]);
  assert.equal(noRoot.code, 2);
  assert.match(noRoot.stderr, /give --root/);
  const { root, code, stderr } = await installInto(["--mode", "sh"]);
  await Deno.remove(root, { recursive: true });
  assert.equal(code, 2);
  assert.match(stderr, /give --key-from-overlay \(a netboot root\), or --key\/--key-file/);
});

Deno.test("install --key-from-overlay: no key in the shared root, only an empty placeholder", async () => {
  const { root, code, stdout, stderr } = await installInto(["--mode", "sh", "--key-from-overlay"]);
  try {
    assert.equal(code, 0, stderr);
    const key = await Deno.stat(`${root}/etc/cluster-agent/key`);
    assert.equal(key.size, 0, "the root every host can mount holds no key");
    assert.equal(key.mode! & 0o777, 0o600);
    assert.match(stdout, /each node's own key comes from its overlay/);
    // The agent in such a root, booted without its overlay, stops instead of using some key.
    const r = await run("sh", [
      `${root}/opt/cluster-agent/cluster-agent.sh`,
      "--key-file",
      `${root}/etc/cluster-agent/key`,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no agent key/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  const both = await installInto(["--key-from-overlay", "--key", "k"]);
  await Deno.remove(both.root, { recursive: true });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /not both/);
});

Deno.test("install: a node's own key is taken quietly; the old shared key with a warning", async () => {
  const own = "node17." + "A".repeat(43);
  for (const [key, warns] of [[own, false], ["s3cret", true]] as const) {
    const { root, code, stderr } = await installInto(["--mode", "sh", "--key", key]);
    try {
      assert.equal(code, 0, stderr);
      assert.equal((await Deno.readTextFile(`${root}/etc/cluster-agent/key`)).trim(), key);
      assert.equal(/warning: this is not a node's own key/.test(stderr), warns, stderr);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
});

Deno.test("install: refuses a hub that would break out of the wrapper's quotes or the JSON", async () => {
  for (
    const hub of [
      "http://10.42.0.250:4242/'; touch /tmp/pwned; '",
      'http://10.42.0.250:4242/","key":"x',
      "http://10.42.0.250:4242/\\",
      "http://10.42.0.250:4242/ x",
      "http://10.42.0.250:4242/\tx",
      "http://10.42.0.250:4242/\nx",
      "http://$(id)/",
      "http://`id`/",
    ]
  ) {
    const { root, code, stderr } = await installInto(["--mode", "sh", "--key", "k", "--hub", hub]);
    try {
      assert.equal(code, 2, `accepted ${JSON.stringify(hub)}`);
      assert.match(stderr, /--hub must be a plain URL/);
      assert.deepEqual([...Deno.readDirSync(root)], [], "nothing installed");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
});

Deno.test("systemd unit: every directive known to systemd-analyze verify", async () => {
  let probe;
  try {
    probe = await run("systemd-analyze", ["--version"]);
  } catch {
    probe = undefined;
  }
  const unit = await Deno.readTextFile(`${SCRIPTS}cluster-agent.service`);
  for (
    const d of [
      "Restart=on-failure",
      "ProtectSystem=strict",
      "ReadOnlyPaths=/",
      "RuntimeDirectory=",
    ]
  ) {
    assert.ok(unit.includes(d), `unit has ${d}`);
  }
  if (!probe || probe.code !== 0) {
    console.warn("skipped systemd-analyze verify: systemd-analyze not installed");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    // The agent binary lives in the clyde root, not here: point ExecStart at /bin/true.
    await Deno.writeTextFile(
      `${dir}/cluster-agent.service`,
      unit.replace("ExecStart=/opt/cluster-agent/cluster-agent", "ExecStart=/bin/true"),
    );
    const r = await run("systemd-analyze", ["verify", "--man=no", `${dir}/cluster-agent.service`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install: adds the unit's gpio group to a root that lacks it (Debian), once", async () => {
  const root = await Deno.makeTempDir({ prefix: "clyde-root-" });
  try {
    // A Debian root: system groups up to 999 partly taken, no gpio group.
    await Deno.mkdir(`${root}/etc`);
    const group = "root:x:0:\nsystemd-journal:x:999:\nsystemd-network:x:998:\nusers:x:100:\n";
    await Deno.writeTextFile(`${root}/etc/group`, group);
    await Deno.writeTextFile(`${root}/etc/gshadow`, "root:*::\n");
    const args = ["--root", root, "--mode", "sh", "--key", "k"];
    for (let i = 0; i < 2; i++) {
      const r = await run("sh", [`${SCRIPTS}install-agent.sh`, ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
    const unit = await Deno.readTextFile(`${root}/etc/systemd/system/cluster-agent.service`);
    assert.match(unit, /^SupplementaryGroups=gpio$/m);
    // added once, with the highest free system id; existing lines untouched
    assert.equal(await Deno.readTextFile(`${root}/etc/group`), group + "gpio:x:997:\n");
    assert.equal(await Deno.readTextFile(`${root}/etc/gshadow`), "root:*::\ngpio:!::\n");
    assert.match(
      await Deno.readTextFile(`${root}/etc/udev/rules.d/60-cluster-agent-gpio.rules`),
      /^SUBSYSTEM=="gpio", KERNEL=="gpiochip\*", GROUP="gpio", MODE="0660"$/m,
    );
    // a root that has the group (Raspberry Pi OS) keeps it as it is
    const pios = "root:x:0:\ngpio:x:997:pi\n";
    await Deno.writeTextFile(`${root}/etc/group`, pios);
    assert.equal((await run("sh", [`${SCRIPTS}install-agent.sh`, ...args])).code, 0);
    assert.equal(await Deno.readTextFile(`${root}/etc/group`), pios);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("bay-led-setup: selects the pattern trigger where the bay LED node is; nothing without it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bay-led-setup-" });
  try {
    const script = new URL("../../scripts/agent/bay-led-setup.sh", import.meta.url).pathname;
    const none = await run("sh", [script, `${dir}/absent`]);
    assert.equal(none.code, 0);
    await Deno.writeTextFile(`${dir}/trigger`, "[none] timer heartbeat pattern\n");
    const r = await run("sh", [script, dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/trigger`), "pattern\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
