/**
 * The first `npx -y deno@2.9.6 task hub` installs every npm package deno.json names (with
 * "nodeModulesDir": "auto", Deno sets up node_modules from the whole lockfile): so deno.json
 * names no package the code does not import. And the README's first steps work on a machine
 * with only npm: after "Two commands", cm is run through npx or installed first.
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
