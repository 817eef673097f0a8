import assert from "node:assert/strict";
import { ClusterError } from "../../shared/errors.ts";
import {
  DEFAULT_HUB,
  loadAgentOptions,
  parseAgentFlags,
  readConfigFile,
  resolveAgentOptions,
} from "../../node-agent/config.ts";

Deno.test("flags: parsed and validated", () => {
  const f = parseAgentFlags([
    "--hub",
    "http://h:1",
    "--key",
    "k",
    "--node",
    "12",
    "--sim",
    "--model",
    "pi0w",
    "--hostname",
    "node12",
    "--interval-ms",
    "500",
  ]);
  assert.deepEqual(
    [f.hub, f.key, f.node, f.sim, f.model, f.hostname, f.intervalMs, f.root],
    ["http://h:1", "k", 12, true, "pi0w", "node12", 500, "/"],
  );
  const bad = (args: string[], re: RegExp) =>
    assert.throws(
      () => parseAgentFlags(args),
      (e: Error) => e instanceof ClusterError && re.test(e.message),
    );
  bad(["--node", "61"], /--node must be a whole number from 1 to 60/);
  bad(["--model", "pi5", "--sim"], /--model must be one of/);
  bad(["--model", "pi4"], /only go with --sim/);
  bad(["--gpio-backend", "lgpio"], /--gpio-backend must be one of auto, sysfs, chardev, sim/);
  bad(["--key", "a", "--key-file", "b"], /not both/);
  bad(["--bogus"], /bogus/);
});

Deno.test("precedence: flags over config file over kernel command line", async () => {
  const flags = parseAgentFlags(["--interval-ms", "250"]);
  const o = await resolveAgentOptions(
    flags,
    { hub: "http://config:1", node: 3, intervalMs: 2000, gpioBackend: "sysfs" },
    { hub: "http://kernel:1", node: 4, key: "kernel-key" },
  );
  assert.deepEqual(
    [o.hub, o.key, o.node, o.intervalMs, o.gpioBackend],
    ["http://config:1", "kernel-key", 3, 250, "sysfs"],
  );
  const k = await resolveAgentOptions(parseAgentFlags([]), {}, { node: 4, key: "x" });
  assert.deepEqual([k.hub, k.node, k.gpioBackend], [DEFAULT_HUB, 4, "auto"]);
  const sim = await resolveAgentOptions(parseAgentFlags(["--sim", "--key", "f"]), {
    key: "c",
    gpioBackend: "sysfs",
  }, {});
  assert.deepEqual([sim.key, sim.gpioBackend], ["f", "sim"]);
});

Deno.test("no key anywhere is a clear error; key files are read and trimmed", async () => {
  await assert.rejects(
    () => resolveAgentOptions(parseAgentFlags([]), {}, {}),
    (e: Error) =>
      e instanceof ClusterError && e.code === "unauthorized" && /--key-file/.test(e.message),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/key`, "s3cret\n");
    const o = await resolveAgentOptions(parseAgentFlags(["--key-file", `${dir}/key`]), {}, {});
    assert.equal(o.key, "s3cret");
    await assert.rejects(
      () => resolveAgentOptions(parseAgentFlags(["--key-file", `${dir}/none`]), {}, {}),
      /cannot read the agent key from/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config file: validated strictly; missing file is empty", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readConfigFile(`${dir}/absent.json`), {});
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify({ hub: "http://h:2", nodes: 3 }));
    await assert.rejects(() => readConfigFile(`${dir}/a.json`), /nodes/);
    await Deno.writeTextFile(`${dir}/b.json`, "{ nope");
    await assert.rejects(() => readConfigFile(`${dir}/b.json`), /is not JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadAgentOptions: config and cmdline read under --root", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/etc/cluster-agent`, { recursive: true });
    await Deno.mkdir(`${root}/proc`);
    await Deno.writeTextFile(
      `${root}/etc/cluster-agent/agent.json`,
      JSON.stringify({ keyFile: "/etc/cluster-agent/key" }),
    );
    await Deno.writeTextFile(`${root}/etc/cluster-agent/key`, "from-file\n");
    await Deno.writeTextFile(`${root}/proc/cmdline`, "console=tty1 cm.node=33 cm.hub=http://k:9\n");
    const o = await loadAgentOptions(["--root", root]);
    assert.notEqual(o, "help");
    if (o === "help") return;
    assert.deepEqual([o.hub, o.key, o.node, o.root], ["http://k:9", "from-file", 33, root]);
    assert.equal(await loadAgentOptions(["--help"]), "help");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a node's own key names the node; a node id that contradicts it is refused", async () => {
  const key = "node23." + "x".repeat(43);
  const o = await resolveAgentOptions(parseAgentFlags(["--key", key]), {}, {});
  assert.equal(o.node, 23, "the key's node when nothing else says");
  const same = await resolveAgentOptions(parseAgentFlags(["--key", key]), {}, { node: 23 });
  assert.equal(same.node, 23);
  await assert.rejects(
    () => resolveAgentOptions(parseAgentFlags(["--key", key, "--node", "22"]), {}, {}),
    /the agent key is node 23's, but this agent is set to be node 22/,
  );
  await assert.rejects(
    () => resolveAgentOptions(parseAgentFlags([]), {}, { node: 5, key }),
    /node 23's/,
  );
  // Any other key (the old shared one) says nothing about the node.
  const shared = await resolveAgentOptions(parseAgentFlags(["--key", "shared"]), {}, {});
  assert.equal(shared.node, undefined);
});
