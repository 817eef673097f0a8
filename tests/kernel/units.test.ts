/**
 * The guest suite starts the product from the units the installers write: the unit parser it
 * uses, checked against those very units (so a changed ExecStart is what the guest runs).
 */
import assert from "node:assert/strict";
import { parseEnvFile, parseUnit, resolveStart } from "./guest/units.ts";
import { connectionCapFor } from "../../hub/http/tcp_gate.ts";
import { DEFAULT_LIMITS } from "../../hub/http/limits.ts";

const HUB_UNIT = new URL("../../scripts/hub/cluster-hub.service", import.meta.url);
const AGENT_UNIT = new URL("../../scripts/agent/cluster-agent.service", import.meta.url);

Deno.test("cluster-hub.service: ExecStart runs the hub with --allow-all and CM_HUB_ARGS", () => {
  const unit = parseUnit(Deno.readTextFileSync(HUB_UNIT));
  assert.equal(unit.workingDirectory, "/opt/cluster-hub");
  assert.deepEqual(unit.environmentFiles, ["/etc/cluster-hub/hub.env"]);
  const { argv, env } = resolveStart(unit, { CM_HUB_ARGS: "--power-config /p.json --port 1" });
  assert.deepEqual(argv.slice(0, 4), [
    "/opt/cluster-hub/bin/deno",
    "run",
    "--cached-only",
    "--allow-all",
  ]);
  assert.deepEqual(argv.slice(-4), ["--power-config", "/p.json", "--port", "1"]);
  assert.equal(env.DENO_DIR, "/opt/cluster-hub/.deno");
});

Deno.test("cluster-agent.service: the key comes from the credentials directory, %t is /run", () => {
  const unit = parseUnit(Deno.readTextFileSync(AGENT_UNIT));
  const { argv, env } = resolveStart(unit, { CREDENTIALS_DIRECTORY: "/run/credentials/x" });
  assert.deepEqual(argv, [
    "/opt/cluster-agent/cluster-agent",
    "--key-file",
    "/run/credentials/x/key",
  ]);
  assert.equal(env.DENO_DIR, "/run/cluster-agent/deno");
});

Deno.test("EnvironmentFile lines: quotes stripped, comments ignored", () => {
  assert.deepEqual(parseEnvFile('# c\nCM_HUB_ARGS="--a b"\nX=1\n'), {
    CM_HUB_ARGS: "--a b",
    X: "1",
  });
});

Deno.test("cluster-hub.service: LimitNOFILE fits the hub's default connection caps", () => {
  const unit = parseUnit(Deno.readTextFileSync(HUB_UNIT));
  assert.ok(unit.limitNofile, "the unit sets LimitNOFILE");
  // The full default cap fits: the hub does not have to lower it for want of fds.
  assert.equal(
    connectionCapFor(DEFAULT_LIMITS.tcp.max, unit.limitNofile),
    DEFAULT_LIMITS.tcp.max,
  );
  // Debian's default soft limit (1024) would not fit it.
  assert.ok(connectionCapFor(DEFAULT_LIMITS.tcp.max, 1024) < DEFAULT_LIMITS.tcp.max);
  assert.ok(unit.limitNofile <= 65536, "and it is not unbounded");
});
