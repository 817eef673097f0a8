/**
 * `cm console` in a real pseudo-terminal (tmux), run with the CLI's own narrow permissions: it
 * shows the boot log and the prompt, typing works, a window resize does no harm, `~.` quits
 * with exit 0, and the terminal's settings (`stty -a`) are the same afterwards — also when the
 * hub ends the session. Needs tmux (scripts/test-deps.sh installs it); skipped with a message
 * without it, or failed when CI=true.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveTestHub } from "../support/test_hub.ts";

const CI = Deno.env.get("CI") === "true";
const haveTmux = await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
if (!haveTmux && !CI) console.warn("cm console pty test SKIPPED: tmux is missing");

const CLI = new URL("../../hub/cli/main.ts", import.meta.url).pathname;

/** A tmux server of our own (its own socket), one window running `sh`. */
class Tmux {
  readonly socket = `cm-console-test-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  }

  start(): Promise<string> {
    return this.run("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "sh");
  }

  type(text: string): Promise<string> {
    return this.run("send-keys", "-t", "t", "-l", text);
  }

  enter(): Promise<string> {
    return this.run("send-keys", "-t", "t", "Enter");
  }

  async line(text: string): Promise<void> {
    await this.type(text);
    await this.enter();
  }

  /** The screen and its scrollback, wrapped lines joined. */
  screen(): Promise<string> {
    return this.run("capture-pane", "-p", "-J", "-S", "-200", "-t", "t");
  }

  async waitFor(pred: (screen: string) => boolean, what: string, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await this.screen();
      if (pred(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): Promise<string> {
    return this.run("kill-server").catch(() => "");
  }
}

const lines = (s: string) => s.split("\n").map((l) => l.trimEnd());

Deno.test({
  name:
    "cm console in a pty: boot log, prompt, typing, resize, ~. quits with the terminal restored",
  ignore: !haveTmux && !CI,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    if (!haveTmux) throw new Error("CI=true but tmux is missing");
    const h = await serveTestHub();
    const dir = await Deno.makeTempDir({ prefix: "cm-console-pty-" });
    const tmux = new Tmux();
    let hubOpen = true;
    try {
      assert.equal((await h.call("POST", "/api/v1/nodes/7/power", { state: "on" })).status, 200);
      await tmux.start();
      // The CLI's own permissions (deno task cm, the installed wrapper): no --allow-all.
      const cm =
        `${Deno.execPath()} run --allow-net --allow-read --allow-env ${CLI} --hub ${h.url} --token ${h.hub.token.value}`;
      const run = (tag: string) =>
        tmux.line(
          `stty -a > ${
            join(dir, `${tag}.before`)
          }; ${cm} console 7; echo "${tag} exit $?"; stty -a > ${join(dir, `${tag}.after`)}`,
        );
      await run("first");
      await tmux.waitFor((s) => /node07 login: $/m.test(s), "the boot log and login prompt");
      const boot = await tmux.screen();
      assert.match(boot, /Machine model: Raspberry Pi 3 Model B Plus Rev 1\.3/);
      assert.match(
        boot,
        /\[cm\] node 7's console \(simulated serial console of node 7\); you type/,
      );

      await tmux.line("pi");
      await tmux.waitFor((s) => /Password: $/m.test(s), "the password prompt");
      await tmux.line("secret");
      await tmux.line("echo typed-in-a-pty");
      await tmux.waitFor((s) => lines(s).includes("typed-in-a-pty"), "the command's output");
      assert.doesNotMatch(await tmux.screen(), /secret/, "raw mode: the password is not echoed");

      // A resize (SIGWINCH) mid-session: the session goes on.
      await tmux.run("resize-window", "-t", "t", "-x", "90", "-y", "30");
      await new Promise((r) => setTimeout(r, 300));
      await tmux.line("hostname");
      await tmux.waitFor((s) => lines(s).includes("node07"), "output after the resize");
      // cm passed the new size on (SIGWINCH → resize frame); the simulated node reports it.
      await tmux.line("stty size");
      await tmux.waitFor((s) => lines(s).includes("30 90"), "the new window size at the node");
      await tmux.run("resize-window", "-t", "t", "-x", "120", "-y", "40");

      // Ctrl-C goes to the node (raw mode), it does not end cm.
      await tmux.run("send-keys", "-t", "t", "C-c");
      await tmux.waitFor((s) => lines(s).includes("pi@node07:~$ ^C"), "^C at the node");
      await tmux.enter();
      await tmux.type("~.");
      const done = await tmux.waitFor((s) => /first exit \d+/.test(s), "cm to exit");
      assert.match(done, /first exit 0/);
      assert.match(done, /\[cm\] left node 7's console/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        await Deno.readTextFile(join(dir, "first.after")),
        await Deno.readTextFile(join(dir, "first.before")),
        "stty -a is the same after ~.",
      );

      // SIGTERM (a closed ssh session, kill): cm leaves raw mode before it goes. Deno's
      // default action for the signal would end the process with the terminal still raw.
      const pidFile = join(dir, "cm.pid");
      await tmux.line(
        `stty -a > ${
          join(dir, "term.before")
        }; sh -c 'echo $$ > ${pidFile}; exec ${cm} console 7'; echo "term exit $?"; stty -a > ${
          join(dir, "term.after")
        }`,
      );
      await tmux.waitFor(
        (s) => (s.match(/\[cm\] node 7's console/g) ?? []).length === 2,
        "attached for the signal",
      );
      Deno.kill(Number((await Deno.readTextFile(pidFile)).trim()), "SIGTERM");
      const killed = await tmux.waitFor((s) => /term exit \d+/.test(s), "cm to exit on SIGTERM");
      assert.match(killed, /\[cm\] SIGTERM: leaving the console/);
      assert.match(killed, /term exit 1/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        await Deno.readTextFile(join(dir, "term.after")),
        await Deno.readTextFile(join(dir, "term.before")),
        "stty -a is the same after SIGTERM",
      );

      // The hub ends the session (it shuts down): cm says so, exits 1, the terminal is restored.
      await run("second");
      await tmux.waitFor(
        (s) => (s.match(/\[cm\] node 7's console/g) ?? []).length === 3,
        "attached again",
      );
      await h.close();
      hubOpen = false;
      const ended = await tmux.waitFor((s) => /second exit \d+/.test(s), "cm to exit");
      assert.match(ended, /\[cm\] connection closed by the hub/);
      assert.match(ended, /second exit 1/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        await Deno.readTextFile(join(dir, "second.after")),
        await Deno.readTextFile(join(dir, "second.before")),
        "stty -a is the same after the hub closed the session",
      );
    } finally {
      await tmux.kill();
      if (hubOpen) await h.close();
      await Deno.remove(h.dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
