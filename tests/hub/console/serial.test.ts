/**
 * A serial console on a real pty pair from socat: the hub sets the line with termios (read back
 * with `stty -F`), bytes flow both ways through the REST history and the WebSocket, and a
 * line that goes away is reconnected. Needs socat (scripts/test-deps.sh installs it); without
 * it the test is skipped with a message, or fails when CI=true.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_LINE, LineSettings } from "../../../hub/console/line_settings.ts";
import { SerialConsoleSource } from "../../../hub/console/serial_source.ts";
import { serveTestHub } from "../../support/test_hub.ts";
import { ConsoleClient } from "../../support/console_client.ts";

const CI = Deno.env.get("CI") === "true";
const haveSocat = await new Deno.Command("socat", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
if (!haveSocat && !CI) {
  console.warn("serial console tests SKIPPED: socat is missing (apt-get install socat)");
}

/** A pty pair: `hub` is the end the hub opens as its serial device, `node` the node's end. */
async function ptyPair(dir: string): Promise<{ hub: string; node: string; stop(): Promise<void> }> {
  const hub = join(dir, "ttyHUB");
  const node = join(dir, "ttyNODE");
  const child = new Deno.Command("socat", {
    args: [`pty,raw,echo=0,link=${hub}`, `pty,raw,echo=0,link=${node}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await Promise.all(
      [hub, node].map((p) => Deno.stat(p).then(() => true, () => false)),
    );
    if (ok.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error("socat did not create the pty pair");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    hub,
    node,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await Promise.all([hub, node].map((p) => Deno.remove(p).catch(() => {})));
    },
  };
}

async function stty(path: string): Promise<string> {
  const out = await new Deno.Command("stty", { args: ["-F", path, "-a"] }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Reads from the node's end until `pred` holds for what arrived. */
async function readUntil(file: Deno.FsFile, pred: (s: string) => boolean): Promise<string> {
  let text = "";
  const buf = new Uint8Array(1024);
  while (!pred(text)) {
    const n = await file.read(buf);
    if (n === null) throw new Error(`end of input after ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

const opts = { ignore: !haveSocat && !CI, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name:
    "serial console: the hub sets the pty to 115200 8N1 (or as configured), read back with stty",
  ...opts,
  fn: async () => {
    if (!haveSocat) throw new Error("CI=true but socat is missing");
    const dir = await Deno.makeTempDir({ prefix: "cm-serial-" });
    const pair = await ptyPair(dir);
    try {
      assert.match(await stty(pair.hub), /speed 38400 baud/, "socat's pty starts at 38400");
      const ch = await new SerialConsoleSource(pair.hub, DEFAULT_LINE).open();
      const set = await stty(pair.hub);
      assert.match(set, /speed 115200 baud/);
      for (
        const flag of [
          "cs8",
          "-parenb",
          "-cstopb",
          "-crtscts",
          "cread",
          "clocal",
          "-icanon",
          "-echo",
        ]
      ) {
        assert.match(set, new RegExp(`(^|\\s)${flag}(\\s|$)`), `${flag} in:\n${set}`);
      }
      ch.close();

      const other = LineSettings.parse({ baud: 9600, stopBits: 2 });
      const ch2 = await new SerialConsoleSource(pair.hub, other).open();
      const set2 = await stty(pair.hub);
      assert.match(set2, /speed 9600 baud/);
      for (const flag of ["cs8", "-parenb", "cstopb"]) {
        assert.match(set2, new RegExp(`(^|\\s)${flag}(\\s|$)`), `${flag} in:\n${set2}`);
      }
      ch2.close();

      // Linux's pty driver forces CS8 and no parity: tcsetattr succeeds, the read-back
      // shows what the line really does, and the hub says so instead of running garbled.
      const parity = LineSettings.parse({ baud: 9600, dataBits: 7, parity: "even" });
      await assert.rejects(
        new SerialConsoleSource(pair.hub, parity).open(),
        /did not take 9600 7E1 \(reads back 9600 8N1\)/,
      );

      await assert.rejects(
        new SerialConsoleSource(join(dir, "nothing"), DEFAULT_LINE).open(),
        /cannot open .*nothing: No such file or directory/,
      );
      await assert.rejects(
        new SerialConsoleSource("/dev/null", DEFAULT_LINE).open(),
        /\/dev\/null is not a serial device/,
      );
    } finally {
      await pair.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "serial console: configured in the hardware config, bytes both ways, reconnects after the line goes",
  ...opts,
  fn: async () => {
    if (!haveSocat) throw new Error("CI=true but socat is missing");
    const dir = await Deno.makeTempDir({ prefix: "cm-serial-hub-" });
    let pair = await ptyPair(dir);
    const config = join(dir, "hardware.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        driver: "simulated",
        consoles: [{ node: 3, type: "serial", device: pair.hub, baud: 115200 }],
      }),
    );
    const h = await serveTestHub({
      settings: { powerConfigPath: config },
      overrides: { consoleLimits: { minBackoffMs: 20, maxBackoffMs: 100 } },
    });
    let node = await Deno.open(pair.node, { read: true, write: true });
    let viewer: ConsoleClient | null = null;
    try {
      const history = async () =>
        (await (await h.call("GET", "/api/v1/nodes/3/console?lines=10")).json()).lines
          .map((l: { text: string }) => l.text);
      // The node prints; the hub keeps it though no one watches.
      const waitConnected = async () => {
        const deadline = Date.now() + 10_000;
        while (!h.hub.consoles.console(3).source.connected) {
          if (Date.now() > deadline) throw new Error("the hub did not open the serial line");
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await waitConnected();
      assert.match(await stty(pair.hub), /speed 115200 baud/);
      await node.write(new TextEncoder().encode("U-Boot 2024.04\r\nnode03 login: "));
      const deadline = Date.now() + 10_000;
      while (!(await history()).includes("node03 login: ")) {
        if (Date.now() > deadline) throw new Error(`history: ${await history()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual((await history()).slice(-2), ["U-Boot 2024.04", "node03 login: "]);

      // A viewer sees the history, then types: the node's end receives the bytes.
      viewer = new ConsoleClient(h.url, 3, h.hub.token.value, "client=test");
      await viewer.until((c) => c.ofType("live").length === 1, "history, then live");
      assert.match(viewer.output, /node03 login: $/);
      assert.equal(viewer.ofType("hello")[0].source.kind, "serial");
      viewer.type("root\r");
      assert.equal(await readUntil(node, (s) => s.includes("\r")), "root\r");

      // The line goes away (adapter unplugged): the viewer is told, the hub retries and
      // picks the line up again when it is back.
      node.close();
      await pair.stop();
      await viewer.until(
        (c) => c.ofType("source").some((f) => !f.source.connected),
        "a source-lost frame",
      );
      pair = await ptyPair(dir);
      node = await Deno.open(pair.node, { read: true, write: true });
      await viewer.until(
        (c) => c.ofType("source").at(-1)?.source.connected === true,
        "reconnected",
      );
      await node.write(new TextEncoder().encode("\r\nback again\r\n"));
      await viewer.until((c) => c.output.includes("back again"), "output after reconnect");
      const events = h.hub.events.latest(100).filter((e) => e.type === "console_source");
      assert.deepEqual(events.map((e) => e.data.connected), [false, true], "lost, then connected");
      assert.match(events[0].message, /console of node 3 lost/);
    } finally {
      await viewer?.close();
      try {
        node.close();
      } catch { /* closed */ }
      await h.close();
      await pair.stop();
      await Deno.remove(h.dataDir, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});
