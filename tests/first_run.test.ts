/**
 * The first `npx -y deno@2.9.6 task hub` installs every npm package in the lockfile (with
 * "nodeModulesDir": "auto", `deno task` sets up node_modules from the whole of deno.lock, and
 * any `deno run` prunes what deno.lock lacks): so deno.lock (frozen) holds only what users run,
 * deno.json names no package the code does not import, and the dashboard tests' browser driver
 * is fetched apart (scripts/install-browser-driver.sh). And the README's first steps work on a machine with
 * only npm: after "Two commands", cm is run through npx or installed first.
 */
import assert from "node:assert/strict";

/** Every .ts file under `dir`, skipping node_modules and caches. */
function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

Deno.test("deno.json names only npm packages the code imports (each is installed on first run)", () => {
  const config = JSON.parse(Deno.readTextFileSync("deno.json")) as {
    imports: Record<string, string>;
  };
  const code = ["hub", "shared", "node-agent", "tests", "scripts", "bench"]
    .flatMap((d) => [...sources(d)].map((f) => Deno.readTextFileSync(f)))
    .join("\n");
  const unused = Object.keys(config.imports).filter((name) => {
    const bare = name.replace(/\/$/, "");
    return !code.includes(`"${bare}`) && !code.includes(`'${bare}`);
  });
  assert.deepEqual(unused, [], "packages nobody imports, downloaded by every first run");
});

Deno.test("README: after the two commands, cm runs on a machine that has only npm", () => {
  const readme = Deno.readTextFileSync("README.md");
  const cli = readme.slice(readme.indexOf("## The CLI (`cm`)"));
  const first = cli.slice(0, cli.indexOf("\n\n", cli.indexOf("\n\n") + 2));
  assert.match(first, /npx -y deno@2\.9\.6 task cm/, "cm through npx, as the hub is started");
  assert.match(first, /npx -y deno@2\.9\.6 task install:cm/, "or install cm first");
  assert.doesNotMatch(first, /(^|[^-.\w/])deno task cm/, "bare `deno task cm` needs a deno");
});

type Lock = { npm?: Record<string, unknown> };

Deno.test("deno.lock (frozen) pins exactly deno.json's packages: what users run, no test tool", () => {
  const lock = JSON.parse(Deno.readTextFileSync("deno.lock")) as Lock;
  const config = JSON.parse(Deno.readTextFileSync("deno.json")) as {
    imports: Record<string, string>;
    lock: { path: string; frozen: boolean };
  };
  assert.deepEqual(config.lock, { path: "deno.lock", frozen: true }, "nothing adds to it unseen");
  const imported = Object.values(config.imports).filter((v) => !v.endsWith("/"))
    .map((v) => v.replace(/^npm:/, "")).sort();
  assert.deepEqual(Object.keys(lock.npm ?? {}).sort(), imported);
});

Deno.test({
  name: "the first `deno task hub` installs no test-only package (no browser driver)",
  sanitizeResources: false,
  async fn() {
    const repo = new URL("..", import.meta.url).pathname;
    const copy = await Deno.makeTempDir({ prefix: "cm-first-run-" });
    try {
      // The tracked files only: a fresh clone, with no node_modules yet (DENO_DIR's download
      // cache is shared, so nothing is fetched from the registry).
      const files = new TextDecoder().decode(
        (await new Deno.Command("git", {
          args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
          cwd: repo,
        }).output()).stdout,
      ).split("\0").filter((f) => f && !f.startsWith("tests/") && !f.startsWith("docs/"));
      for (const f of files) {
        await Deno.mkdir(`${copy}/${f.slice(0, f.lastIndexOf("/") + 1)}`, { recursive: true });
        await Deno.copyFile(`${repo}/${f}`, `${copy}/${f}`).catch(() => {}); // deleted, not committed
      }
      const child = new Deno.Command(Deno.execPath(), {
        args: ["task", "hub", "--port", "0", "--data-dir", `${copy}/.data`, "--no-agents"],
        cwd: copy,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // stderr is read alongside, so a chatty start cannot fill its pipe; a hub that never
      // says it is ready is stopped after 120 s, which ends the stdout read.
      const err = new Response(child.stderr).text();
      const giveUp = setTimeout(() => child.kill("SIGKILL"), 120_000);
      let out = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!out.includes("hub: ready")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      clearTimeout(giveUp);
      if (out.includes("hub: ready")) child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
      assert.match(out, /hub: ready/, `the hub started: ${out}${await err}`);
      const installed = [...Deno.readDirSync(`${copy}/node_modules/.deno`)].map((e) => e.name);
      assert.ok(installed.some((n) => n.startsWith("hono@")), `hono installed: ${installed}`);
      assert.deepEqual(
        installed.filter((n) => n.startsWith("playwright")),
        [],
        "no browser driver",
      );
    } finally {
      await Deno.remove(copy, { recursive: true });
    }
  },
});
