/**
 * The house rules of docs/architecture.md, checked on the import graph: every relative
 * import specifier of every product .ts file (hub/, shared/, node-agent/) is read, and the
 * test fails on a forbidden arrow or on any cycle.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const PRODUCT = ["hub", "shared", "node-agent"];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...tsFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Relative import and export specifiers of a source text (static, dynamic, type-only). */
export function importSpecifiers(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
  for (const m of text.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** file → the product files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of PRODUCT.flatMap(tsFiles)) {
    const text = Deno.readTextFileSync(join(ROOT, file));
    const targets = importSpecifiers(text)
      .filter((s) => s.startsWith("."))
      .map((s) => relative(ROOT, normalize(join(ROOT, dirname(file), s))));
    graph.set(file, targets);
  }
  return graph;
}

const graph = importGraph();
const under = (file: string, prefix: string) =>
  prefix.endsWith(".ts") ? file === prefix : file.startsWith(prefix);

/** A forbidden arrow: files under `from` may not import files under `to`, except `unless`. */
interface Rule {
  from: string;
  to: string;
  unless?: string[];
  why: string;
}

const RULES: Rule[] = [
  { from: "shared/", to: "hub/", why: "shared/ is the ground floor" },
  { from: "shared/", to: "node-agent/", why: "shared/ is the ground floor" },
  { from: "node-agent/", to: "hub/", why: "the agent runs on the nodes, without the hub" },
  {
    from: "hub/",
    to: "node-agent/",
    unless: ["node-agent/mod.ts"],
    why: "the hub embeds the agent only through its public face, node-agent/mod.ts",
  },
  { from: "shared/pins/", to: "shared/led/", why: "pins know nothing of what drives them" },
  { from: "hub/power/", to: "hub/cluster/", why: "drivers sit below the services" },
  { from: "hub/cluster/", to: "hub/http/", why: "services know nothing of the edge" },
  { from: "hub/cluster/", to: "hub/netboot/", why: "netboot calls the services, not back" },
  { from: "hub/cluster/", to: "hub/cli/", why: "services know nothing of the edge" },
  { from: "hub/netboot/", to: "hub/http/", why: "netboot services know nothing of the edge" },
  { from: "hub/netboot/", to: "hub/cli/", why: "netboot services know nothing of the edge" },
  {
    from: "hub/netboot/render/",
    to: "hub/netboot/runtime/",
    why: "renderers are pure: data in, text out",
  },
  { from: "hub/netboot/settings/", to: "hub/netboot/render/", why: "settings are below renderers" },
  {
    from: "hub/netboot/settings/",
    to: "hub/netboot/runtime/",
    why: "settings are below the runtime",
  },
  { from: "hub/console/", to: "hub/http/", why: "consoles know nothing of the edge" },
  { from: "hub/console/", to: "hub/cli/", why: "consoles know nothing of the edge" },
  { from: "hub/console/", to: "hub/cluster/", why: "consoles sit beside the services" },
  { from: "hub/power/", to: "hub/console/", why: "drivers know nothing of consoles" },
  { from: "hub/cli/", to: "hub/console/", why: "the CLI talks to the hub over REST only" },
  { from: "hub/cli/", to: "hub/http/", why: "the CLI talks to the hub over REST only" },
  { from: "hub/cli/", to: "hub/cluster/", why: "the CLI talks to the hub over REST only" },
  { from: "hub/cli/", to: "hub/netboot/", why: "the CLI talks to the hub over REST only" },
  { from: "hub/http/", to: "hub/cli/", why: "the edges do not call each other" },
  { from: "hub/cli/", to: "hub/boot/", why: "the CLI talks to the hub over REST only" },
  { from: "hub/boot/", to: "hub/cluster/", why: "boot timelines observe; recovery acts on them" },
  { from: "hub/boot/", to: "hub/netboot/", why: "netboot feeds the boot monitor, not back" },
  { from: "hub/boot/", to: "hub/http/", why: "boot timelines know nothing of the edge" },
  { from: "hub/boot/", to: "hub/cli/", why: "boot timelines know nothing of the edge" },
  { from: "hub/netboot/", to: "hub/boot/", why: "netboot hands log lines to a callback" },
  { from: "hub/netboot/", to: "hub/preflight/", why: "preflight reads netboot, not back" },
  { from: "hub/cluster/", to: "hub/preflight/", why: "the bootstrap route runs the preflight" },
  { from: "hub/preflight/", to: "hub/cluster/", why: "preflight checks the host, not the nodes" },
  { from: "hub/preflight/", to: "hub/http/", why: "preflight knows nothing of the edge" },
  { from: "hub/preflight/", to: "hub/cli/", why: "preflight knows nothing of the edge" },
  { from: "hub/cli/", to: "hub/preflight/", why: "the CLI talks to the hub over REST only" },
];

// Only hub/hub.ts wires; only hub/main.ts (and tests) build a hub.
for (const prefix of ["hub/", "shared/", "node-agent/"]) {
  RULES.push({ from: prefix, to: "hub/hub.ts", unless: [], why: "only main.ts builds a hub" });
  RULES.push({ from: prefix, to: "hub/main.ts", unless: [], why: "main.ts is the top floor" });
}

Deno.test("architecture: the import graph has no forbidden arrow", () => {
  assert.ok(graph.size > 100, `read ${graph.size} product files`);
  const broken: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      for (const r of RULES) {
        if (r.from === "hub/" && r.to === "hub/hub.ts" && file === "hub/main.ts") continue;
        if (!under(file, r.from) || !under(target, r.to)) continue;
        if (r.unless?.some((u) => under(target, u))) continue;
        broken.push(`${file} → ${target}: ${r.why}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("architecture: no product file is a fake or imports one", () => {
  // Fakes live beside the tests (tests/support/fakes/, tests/<area>/); a product file that
  // needs one at run time needs a product implementation (a "simulated" one), not a fake.
  // (No product file imports tests/ at all: the scripts-and-benchmarks rules below.)
  assert.ok(graph.size > 100, `read ${graph.size} product files`);
  const fake = (f: string) => /(^|\/)fake_[^/]*$/.test(f);
  const offending: string[] = [];
  for (const [file, targets] of graph) {
    if (fake(file)) offending.push(`${file}: a fake in a product folder`);
    for (const t of targets.filter(fake)) offending.push(`${file} → ${t}`);
  }
  assert.deepEqual(offending, []);
});

Deno.test("architecture: every relative import resolves to a file", () => {
  const missing: string[] = [];
  for (const [file, targets] of graph) {
    for (const t of targets) {
      try {
        Deno.statSync(join(ROOT, t));
      } catch {
        missing.push(`${file} → ${t}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

Deno.test("architecture: the import graph has no cycle", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    const s = state.get(file);
    if (s === "done") return;
    if (s === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const t of graph.get(file) ?? []) if (graph.has(t)) visit(t, [...path, file]);
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) visit(file, []);
  assert.deepEqual(cycles, []);
});

/** Every .ts and .js file of the repository, outside node_modules/ and dot folders. */
function sourceFiles(dir = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const path = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sourceFiles(path));
    else if (/\.(ts|js)$/.test(e.name)) out.push(path);
  }
  return out;
}

/** A node id turned into an array index (the id minus one in brackets), or a map's bays indexed. */
const ID_INDEX = /\[\s*(?:id|node|nodeId)\s*-\s*1\s*\]|\bbays\[/;

Deno.test("architecture: only the node map turns a node id into a position", () => {
  // The node map is the one source of geometry: elsewhere bayOf/bayAt, the map's ids, or
  // per-node state keyed by id.
  for (
    const sample of [
      "map.bay" + "s[0]",
      "x[" + "id - 1]",
      "rails[" + "node-1]",
      "x[ " + "nodeId -1 ]",
    ]
  ) {
    assert.match(sample, ID_INDEX, sample);
  }
  for (const sample of ["answers[" + "n - 1]", "list[" + "length - 1]", "ids[" + "i]"]) {
    assert.doesNotMatch(sample, ID_INDEX, sample);
  }
  const files = sourceFiles();
  assert.ok(files.length > 300, `read ${files.length} files`);
  const found: string[] = [];
  const all = new RegExp(ID_INDEX, "g");
  for (const file of files) {
    if (file === "shared/node_map.ts") continue;
    const lines = Deno.readTextFileSync(join(ROOT, file)).split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(all)) found.push(`${file}:${i + 1}: ${m[0]}`);
    });
  }
  assert.deepEqual(found, []);
});

Deno.test("architecture: the specifier reader sees every import form", () => {
  const text = [
    `import { a } from "./a.ts";`,
    `import type { B } from '../b.ts';`,
    `export { c } from "./c.ts";`,
    `import "./side.ts";`,
    `const d = await import("./d.ts");`,
    `import {\n  e,\n} from "./e.ts";`,
  ].join("\n");
  assert.deepEqual(importSpecifiers(text), [
    "./a.ts",
    "../b.ts",
    "./c.ts",
    "./side.ts",
    "./d.ts",
    "./e.ts",
  ]);
});

Deno.test("architecture: the agent and cm never load classic zod (values from wire_schemas.ts)", () => {
  // Classic zod costs the agent ~15 MiB of RSS and cm its start-up time (docs/benchmarks.md);
  // `import type` is erased and free.
  const valueImport = /^import\s+(?!type\b)[^;]*?from\s*["']([^"']+)["']/gms;
  const offending: string[] = [];
  for (const file of [...graph.keys()]) {
    if (!under(file, "node-agent/") && !under(file, "hub/cli/")) continue;
    const text = Deno.readTextFileSync(join(ROOT, file));
    for (const m of text.matchAll(valueImport)) {
      if (m[1] === "zod" || m[1].endsWith("shared/schemas.ts")) offending.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(offending, []);
});

// Settings sit below the layers they configure: the top floor (main.ts, the composition root
// hub.ts, the settings parser config.ts) imports the rooms of hub/, never the other way.
const TOP_FLOOR = ["hub/main.ts", "hub/hub.ts", "hub/config.ts"];

/** Imports from a room of hub/ (a file in a folder under hub/) up to the top floor. */
export function upwardImports(g: Map<string, string[]>): string[] {
  const up: string[] = [];
  for (const [file, targets] of g) {
    if (!/^hub\/[^/]+\//.test(file)) continue;
    for (const t of targets) if (TOP_FLOOR.includes(t)) up.push(`${file} → ${t}`);
  }
  return up;
}

Deno.test("architecture: no room of hub/ imports the top floor (settings sit below)", () => {
  assert.deepEqual(upwardImports(graph), []);
  // The check sees such an arrow.
  assert.deepEqual(
    upwardImports(new Map([["hub/http/live.ts", ["hub/config.ts", "hub/http/limits.ts"]]])),
    ["hub/http/live.ts → hub/config.ts"],
  );
});

// Scripts and benchmarks stand outside the product: they reach it only through its public
// faces (the composition root, cm's entry, each room's mod.ts, the ground floor shared/), and
// no product file reaches back into them or into tests/.
const OUTSIDE = ["scripts", "bench"];

/** A file scripts/ and bench/ may import from the product. */
export function isPublicFace(target: string): boolean {
  return target.startsWith("shared/") ||
    target === "hub/hub.ts" ||
    target === "hub/cli/main.ts" ||
    /^(hub\/[^/]+|node-agent)\/mod\.ts$/.test(target);
}

/** Forbidden arrows out of scripts/ and bench/, and from the product into them or tests/. */
export function outsideArrows(g: Map<string, string[]>): string[] {
  const broken: string[] = [];
  const product = (f: string) => PRODUCT.some((p) => f.startsWith(`${p}/`));
  for (const [file, targets] of g) {
    for (const t of targets) {
      if (product(file) && /^(scripts|bench|tests)\//.test(t)) {
        broken.push(`${file} → ${t}: the product never imports scripts, benchmarks or tests`);
      }
      if (OUTSIDE.some((o) => file.startsWith(`${o}/`)) && product(t) && !isPublicFace(t)) {
        broken.push(`${file} → ${t}: outside the product, import its public faces only`);
      }
      if (file.startsWith("scripts/") && /^(bench|tests)\//.test(t)) {
        broken.push(`${file} → ${t}: scripts ship with the product; they need no bench or test`);
      }
      if (file.startsWith("bench/") && t.startsWith("tests/") && !t.startsWith("tests/support/")) {
        broken.push(`${file} → ${t}: a benchmark shares only the tests' harness (tests/support/)`);
      }
    }
  }
  return broken;
}

/** The import graph of scripts/ and bench/ beside the product's. */
function outsideGraph(): Map<string, string[]> {
  const g = new Map(graph);
  for (const file of OUTSIDE.flatMap(tsFiles)) {
    const text = Deno.readTextFileSync(join(ROOT, file));
    g.set(
      file,
      importSpecifiers(text).filter((s) => s.startsWith("."))
        .map((s) => relative(ROOT, normalize(join(ROOT, dirname(file), s)))),
    );
  }
  return g;
}

Deno.test("architecture: scripts and benchmarks import the product's public faces only", () => {
  const g = outsideGraph();
  assert.ok([...g.keys()].filter((f) => f.startsWith("bench/")).length >= 10);
  assert.ok([...g.keys()].filter((f) => f.startsWith("scripts/")).length >= 10);
  assert.deepEqual(outsideArrows(g), []);
  // Each rule sees its arrow.
  assert.deepEqual(
    outsideArrows(
      new Map([
        ["bench/agents.ts", ["node-agent/agent.ts", "node-agent/mod.ts", "hub/hub.ts"]],
        ["scripts/x.ts", ["hub/netboot/render/all.ts", "hub/netboot/mod.ts", "tests/support/a.ts"]],
        ["bench/y.ts", ["tests/hub/api.test.ts", "tests/support/flood.ts", "shared/clock.ts"]],
        ["hub/z.ts", ["bench/lib/proc.ts", "tests/support/test_hub.ts"]],
      ]),
    ).map((s) => s.slice(0, s.indexOf(":"))),
    [
      "bench/agents.ts → node-agent/agent.ts",
      "scripts/x.ts → hub/netboot/render/all.ts",
      "scripts/x.ts → tests/support/a.ts",
      "bench/y.ts → tests/hub/api.test.ts",
      "hub/z.ts → bench/lib/proc.ts",
      "hub/z.ts → tests/support/test_hub.ts",
    ],
  );
});

/** Whether `path` (from the repository root) is a file. */
function isFile(path: string): boolean {
  try {
    return Deno.statSync(join(ROOT, path)).isFile;
  } catch {
    return false;
  }
}

Deno.test("architecture: every relative import of scripts and benchmarks resolves", () => {
  const outside = [...outsideGraph()].filter(([f]) => OUTSIDE.some((o) => f.startsWith(`${o}/`)));
  const missing = outside.flatMap(([file, targets]) =>
    targets.filter((t) => !isFile(t)).map((t) => `${file} → ${t}`)
  );
  assert.deepEqual(missing, []);
});

/** Words of the HTTP edge: error codes named after statuses, the statuses, their carrier. */
const HTTP_WORDS =
  /\b(bad_request|unauthorized|forbidden|not_found|method_not_allowed|conflict|payload_too_large|unsupported_media_type|too_many_connections|not_ready|unavailable|insufficient_storage|invalid_body|ClusterError|ERROR_STATUS|[45]0[0-9]|4[1-2][0-9]|50[0-9])\b|HTTP/i;

Deno.test("architecture: the hardware layers speak no HTTP (shared/pins, hub/power)", () => {
  const found: string[] = [];
  for (const file of ["shared/pins", "hub/power"].flatMap(tsFiles)) {
    const lines = Deno.readTextFileSync(join(ROOT, file)).split("\n");
    lines.forEach((line, i) => {
      const m = line.match(HTTP_WORDS);
      if (m) found.push(`${file}:${i + 1}: ${m[0]}`);
    });
  }
  assert.deepEqual(found, []);
});

Deno.test("architecture: libc is bound in one module (shared/libc.ts)", () => {
  const binders = PRODUCT.flatMap(tsFiles).filter((file) =>
    /\bDeno\.dlopen\s*\(/.test(Deno.readTextFileSync(join(ROOT, file)))
  );
  assert.deepEqual(binders, ["shared/libc.ts"]);
});

// deno.json enables bare Node built-ins and sloppy imports for one reason: the type files of the
// dashboard tests' browser driver (.cache/browser-driver) use them. Our own code does not:
// `deno lint` (no-sloppy-imports) guards extensions, this test the `node:` prefix.
const NODE_BUILTINS =
  /^(assert|buffer|child_process|crypto|dgram|dns|events|fs|http|https|module|net|os|path|process|readline|stream|string_decoder|timers|tls|tty|url|util|v8|vm|worker_threads|zlib)(\/.*)?$/;

Deno.test("architecture: Node built-ins are imported with the node: prefix", () => {
  const bare = [...PRODUCT, "scripts", "bench", "tests"].flatMap(tsFiles).flatMap((file) =>
    importSpecifiers(Deno.readTextFileSync(join(ROOT, file)))
      .filter((s) => NODE_BUILTINS.test(s)).map((s) => `${file}: "${s}"`)
  );
  assert.deepEqual(bare, []);
  assert.ok(NODE_BUILTINS.test("fs/promises") && !NODE_BUILTINS.test("node:fs"));
});
