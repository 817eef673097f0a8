/**
 * `deno task install:cm` into a temp bin dir, both modes: the shim it writes runs `cm status`
 * against a hub on 127.0.0.1, from another directory, and shows the CLI's own errors.
 */
import assert from "node:assert/strict";
import { cmShim } from "../../scripts/install_cm.ts";
import { serveTestHub } from "../support/test_hub.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string) {
  const r = await new Deno.Command(cmd, { args, env, cwd, stdout: "piped", stderr: "piped" })
    .output();
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

Deno.test("install:cm writes a cm that runs status against a hub, in both modes", async () => {
  const hub = await serveTestHub();
  const bin = await Deno.makeTempDir({ prefix: "cm-bin-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "cm-cwd-" });
  try {
    for (const mode of ["bundle", "source"]) {
      const inst = await run(
        Deno.execPath(),
        ["run", "--allow-all", "scripts/install_cm.ts", "--bin-dir", bin, "--mode", mode],
        { PATH: Deno.env.get("PATH") ?? "", HOME: bin },
        REPO,
      );
      assert.equal(inst.code, 0, inst.stderr);
      const shim = await Deno.readTextFile(`${bin}/cm`);
      assert.match(shim, mode === "bundle" ? /--no-config .*\.cache\/cm\/cm\.js/ : /cli\/main\.ts/);
      const env = { CM_HUB: hub.url, CM_TOKEN: "test-admin-token", PATH: "/usr/bin:/bin" };
      const ok = await run(`${bin}/cm`, ["status", "1-3"], env, elsewhere);
      assert.equal(ok.code, 0, `${mode}: ${ok.stderr}`);
      assert.match(ok.stdout, /node01|^ *1\b/m, `${mode}: ${ok.stdout}`);
      const bad = await run(`${bin}/cm`, ["power", "0", "on"], env, elsewhere);
      assert.equal(bad.code, 2, `${mode}: ${bad.stderr}`);
      assert.match(bad.stderr, /node 0 does not exist/);
    }
  } finally {
    await hub.close();
    await Deno.remove(hub.dataDir, { recursive: true });
    await Deno.remove(bin, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("the shim defaults CM_DATA_DIR to the checkout's .data and quotes its paths", () => {
  const shim = cmShim({
    deno: "/opt/my deno/deno",
    repo: "/src/it's",
    mode: "source",
    program: "/src/it's/hub/cli/main.ts",
  });
  assert.match(shim, /^#!\/bin\/sh\n/);
  assert.match(shim, /: "\$\{CM_DATA_DIR:=\/src\/it's\/\.data\}"/);
  assert.match(
    shim,
    /exec '\/opt\/my deno\/deno' run --cached-only --allow-net --allow-read --allow-env --allow-write '\/src\/it'\\''s\/hub\/cli\/main\.ts' "\$@"/,
  );
});

Deno.test("install:cm: --help, an unknown option or a missing value give usage and exit 2, no stack trace", async () => {
  const script = ["run", "--allow-all", "scripts/install_cm.ts"];
  const help = await run(Deno.execPath(), [...script, "--help"], {}, REPO);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: deno task install:cm/m);
  for (const args of [["--bindir", "/tmp/x"], ["--bin-dir"], ["extra"]]) {
    const r = await run(Deno.execPath(), [...script, ...args], {}, REPO);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /^install:cm: .*\nusage: deno task install:cm/m, `${args}`);
    assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /, `${args}: ${r.stderr}`);
  }
});

Deno.test("the shim says to reinstall when its Deno is gone (npx cache cleaned)", async () => {
  const bin = await Deno.makeTempDir({ prefix: "cm-bin-" });
  try {
    await Deno.writeTextFile(
      `${bin}/cm`,
      cmShim({ deno: `${bin}/gone/deno`, repo: "/src", mode: "source", program: "/src/main.ts" }),
    );
    await Deno.chmod(`${bin}/cm`, 0o755);
    const r = await run(`${bin}/cm`, ["status"], { PATH: "/usr/bin:/bin" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cm: Deno is gone from .*gone\/deno; run deno task install:cm again$/m);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
