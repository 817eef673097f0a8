/**
 * The kernel-in-the-loop suite (scripts/kernel-lab/run.sh): the installed agent and hub on a
 * real Linux kernel under QEMU, against gpio-sim and i2c-stub. Each guest check becomes a step;
 * the test fails if any check fails, the guest does not finish, or (under CI=true) QEMU is
 * missing. Runs on its own after the parallel suite (deno task test): TCG needs both cores.
 */
import assert from "node:assert/strict";

const RUN = new URL("../../scripts/kernel-lab/run.sh", import.meta.url).pathname;

function hasQemu(): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", "command -v qemu-system-x86_64"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "kernel suite: installed agent and hub on a real kernel (QEMU, gpio-sim, i2c-stub)",
  ignore: !hasQemu() && Deno.env.get("CI") !== "true",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const started = performance.now();
    const boot = () =>
      new Deno.Command("bash", {
        args: [RUN, Deno.env.get("KERNEL_LAB_SECTIONS") ?? "all"],
        env: { DENO: Deno.execPath() },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    let out = await boot();
    let guestConsole = new TextDecoder().decode(out.stdout);
    // Under TCG the guest kernel itself sometimes wedges (its watchdog reports a soft lockup
    // and RCU stalls while a vCPU is starved; seen once in about ten runs on a 2-core host).
    // That run proves nothing either way: boot once more, and say so. A check that FAILs, or a
    // guest that does not finish without such a report, is never retried.
    const wedged = !/^\d+ passed, \d+ failed$/m.test(guestConsole) &&
      /watchdog: BUG: soft lockup|rcu: INFO: rcu_preempt self-detected stall/.test(guestConsole) &&
      !/^FAIL /m.test(guestConsole);
    if (wedged) {
      const lockup = guestConsole.split("\n").filter((l) => /soft lockup/.test(l)).slice(0, 2);
      console.log(
        `kernel: the guest kernel wedged (TCG), booting once more:\n${lockup.join("\n")}`,
      );
      out = await boot();
      guestConsole = new TextDecoder().decode(out.stdout);
    }
    const log = new TextDecoder().decode(out.stderr);
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    const checks = [...guestConsole.matchAll(/^(ok {2}|FAIL) (.*?)(?: -- (.*))?$/gm)];
    for (const [, verdict, name, detail] of checks) {
      await t.step(name, () => assert.ok(verdict !== "FAIL", detail ?? "failed in the guest"));
    }
    const closing = guestConsole.match(/^(\d+) passed, (\d+) failed$/m);
    const context = `${log.split("\n").filter((l) => l.startsWith("kernel-lab:")).join("\n")}\n` +
      guestConsole.split("\n").filter((l) => /^(FAIL|@@|#)/.test(l)).slice(-60).join("\n");
    assert.ok(closing, `the guest suite did not finish (${seconds} s):\n${context}`);
    console.log(`kernel: ${closing[1]} passed, ${closing[2]} failed (guest suite, ${seconds} s)`);
    assert.equal(Number(closing[2]), 0, `${closing[0]}\n${context}`);
    assert.ok(Number(closing[1]) >= 40, `only ${closing[1]} checks ran`);
    assert.equal(out.code, 0, context);
  },
});
