/**
 * The served OpenAPI document passes `@redocly/cli lint` with its recommended rules.
 *
 * The linter runs under Deno as an npm package, pinned: the first run fetches it from the npm
 * registry into Deno's cache, later runs work offline from that cache. When it cannot run the
 * test fails (it never skips). The only warnings allowed are the two the server's real
 * behaviour causes: an operation that takes no input and no credentials can answer no 4xx,
 * and the WebSocket upgrade answers 101, not a 2xx.
 */
import assert from "node:assert/strict";
import { startTestHub } from "../support/test_hub.ts";

/** The pinned linter. */
const REDOCLY_CLI = "npm:@redocly/cli@2.77.0";

interface Problem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer: string }[];
}

/** Follows a JSON pointer (`#/paths/~1api~1v1~1health/get/responses`). */
function at(doc: unknown, pointer: string): unknown {
  return pointer.replace(/^#\//, "").split("/").map((p) =>
    p.replace(/~1/g, "/").replace(/~0/g, "~")
  )
    .reduce((v: unknown, key) => (v as Record<string, unknown> | undefined)?.[key], doc);
}

Deno.test("openapi.json passes @redocly/cli lint --extends recommended", async () => {
  const t = await startTestHub();
  const dir = await Deno.makeTempDir({ prefix: "cm-openapi-lint-" });
  try {
    const res = await t.call("GET", "/api/v1/openapi.json", undefined, { auth: false });
    assert.equal(res.status, 200);
    const doc = await res.json();
    await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(doc, null, 2));
    // --no-config: the project's import map and lock file are not the linter's business.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--no-config",
        REDOCLY_CLI,
        "lint",
        "--extends",
        "recommended",
        "--format",
        "json",
        "openapi.json",
      ],
      cwd: dir,
      env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    let report: { totals: { errors: number; warnings: number }; problems: Problem[] };
    try {
      report = JSON.parse(stdout.slice(stdout.indexOf("{")));
    } catch {
      throw new Error(
        `could not run ${REDOCLY_CLI} (exit ${out.code}; it needs the npm registry once, ` +
          `then runs from Deno's cache):\n${stderr}\n${stdout}`,
      );
    }
    const errors = report.problems.filter((p) => p.severity === "error");
    assert.deepEqual(
      errors.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`),
      [],
      "lint errors",
    );
    assert.equal(out.code, 0, stderr);
    // Every warning is one the server's behaviour explains.
    const unexplained = report.problems.filter((p) => {
      const pointer = p.location[0]?.pointer ?? "";
      const op = at(doc, pointer.replace(/\/responses$/, "")) as Record<string, unknown>;
      if (p.ruleId === "operation-4xx-response") {
        const noInput = (op.parameters as unknown[] | undefined ?? []).length === 0 &&
          op.requestBody === undefined;
        return !(noInput && Array.isArray(op.security) && op.security.length === 0);
      }
      if (p.ruleId === "operation-2xx-response") {
        // A WebSocket endpoint answers 101 Switching Protocols, never a 2xx.
        const sockets = [
          "#/paths/~1api~1v1~1ws/get/responses",
          "#/paths/~1api~1v1~1nodes~1{id}~1console~1ws/get/responses",
        ];
        return !sockets.includes(pointer) || !("101" in (op.responses as Record<string, unknown>));
      }
      return true;
    });
    assert.deepEqual(
      unexplained.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`),
      [],
      "lint warnings the server's behaviour does not explain",
    );
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});
