/** `/metrics`: valid text exposition 0.0.4, families typed, values matching hub state. */
import assert from "node:assert/strict";
import { escapeLabel, Exposition, METRICS_CONTENT_TYPE } from "../../hub/http/routes/metrics.ts";
import { Lifecycle } from "../../shared/schemas.ts";
import { startTestHub, type TestHub } from "../support/test_hub.ts";
import { sendHeartbeat } from "./live_support.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Parsed {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_NAME = "[a-zA-Z_][a-zA-Z0-9_]*";
const VALUE = "(?:[+-]?(?:[0-9]*\\.?[0-9]+(?:[eE][+-]?[0-9]+)?|Inf)|NaN)";

/** A small parser for the text format; throws on any line that is not valid syntax. */
function parseExposition(text: string): Parsed {
  assert.ok(text.endsWith("\n"), "the document ends with a newline");
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.slice(0, -1).split("\n");
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}: ${line}`;
    let m = line.match(new RegExp(`^# HELP (${NAME}) (.*)$`));
    if (m) {
      assert.ok(!help.has(m[1]), `duplicate HELP, ${where}`);
      help.set(m[1], m[2]);
      continue;
    }
    m = line.match(new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`));
    if (m) {
      assert.ok(!types.has(m[1]), `duplicate TYPE, ${where}`);
      types.set(m[1], m[2]);
      continue;
    }
    assert.ok(!line.startsWith("#"), `unknown comment form, ${where}`);
    m = line.match(new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})$`));
    assert.ok(m, `not a valid sample, ${where}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? "";
    const pair = new RegExp(`^(${LABEL_NAME})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(,|$)`);
    while (rest.length > 0) {
      const p = rest.match(pair);
      assert.ok(p, `bad label syntax, ${where}`);
      assert.ok(!(p[1] in labels), `duplicate label ${p[1]}, ${where}`);
      labels[p[1]] = p[2].replace(/\\(["\\n])/g, (_, c) => (c === "n" ? "\n" : c));
      rest = rest.slice(p[0].length);
    }
    const v = m[3];
    const value = v === "NaN"
      ? NaN
      : v.endsWith("Inf")
      ? (v.startsWith("-") ? -Infinity : Infinity)
      : Number(v);
    samples.push({ name: m[1], labels, value });
  }
  return { types, help, samples };
}

/** The family a sample belongs to (histogram suffixes stripped when that family exists). */
function familyOf(p: Parsed, name: string): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && p.types.get(base) === "histogram") return base;
  }
  return name;
}

function values(p: Parsed, name: string): Sample[] {
  return p.samples.filter((s) => s.name === name);
}

async function scrape(t: TestHub): Promise<Parsed> {
  const res = await t.call("GET", "/metrics", undefined, { auth: false });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), METRICS_CONTENT_TYPE);
  return parseExposition(await res.text());
}

Deno.test("/metrics parses as exposition 0.0.4 and matches the hub after powering nodes", async () => {
  const t = await startTestHub();
  try {
    for (const id of [3, 4]) {
      const res = await t.call("POST", `/api/v1/nodes/${id}/power`, { state: "on" });
      assert.equal(res.status, 200);
    }
    assert.equal(
      (await t.call("POST", "/api/v1/power", { state: "on", nodes: "20-22" })).status,
      200,
    );
    await sendHeartbeat(t, 3, { temp: 51.5, load1: 0.75 });
    await sendHeartbeat(t, 21, { model: "pi0w", temp: null });
    await t.call("GET", "/api/v1/nodes/9");
    await t.call("GET", "/api/v1/nodes/10");
    await t.call("GET", "/api/v1/no-such-thing");

    const p = await scrape(t);
    // Every sample belongs to a family with HELP and TYPE; names follow the conventions.
    for (const s of p.samples) {
      const fam = familyOf(p, s.name);
      assert.ok(p.types.has(fam), `no TYPE for ${s.name}`);
      assert.ok(p.help.has(fam), `no HELP for ${s.name}`);
      assert.ok(fam.startsWith("cluster_"), fam);
      if (p.types.get(fam) === "counter") assert.ok(fam.endsWith("_total"), `counter ${fam}`);
      // Every sample names the module it comes from (a fleet feeds one Prometheus).
      assert.equal(s.labels.module, "NMEBW9HT", `${s.name} without its module`);
    }
    const expectTypes: Record<string, string> = {
      cluster_node_power_on: "gauge",
      cluster_node_lifecycle: "gauge",
      cluster_node_heartbeat_age_seconds: "gauge",
      cluster_node_cpu_temperature_celsius: "gauge",
      cluster_node_load1: "gauge",
      cluster_node_memory_available_bytes: "gauge",
      cluster_jobs_total: "counter",
      cluster_events_total: "counter",
      cluster_http_requests_total: "counter",
      cluster_http_request_duration_seconds: "histogram",
    };
    for (const [name, type] of Object.entries(expectTypes)) {
      assert.equal(p.types.get(name), type, name);
    }

    // Node figures equal what the service reports.
    const nodes = t.hub.status.nodes();
    const power = values(p, "cluster_node_power_on");
    assert.equal(power.length, nodes.length);
    for (const n of nodes) {
      const s = power.find((x) => x.labels.node === String(n.id));
      assert.deepEqual(s?.labels, {
        module: "NMEBW9HT",
        node: String(n.id),
        bus: String(n.bus),
        slot: String(n.slot),
        hostname: n.hostname,
      });
      assert.equal(s?.value, n.power.actual === "on" ? 1 : 0, `node ${n.id}`);
      const life = values(p, "cluster_node_lifecycle").filter((x) =>
        x.labels.node === String(n.id)
      );
      assert.equal(life.length, Lifecycle.options.length);
      assert.deepEqual(life.filter((x) => x.value === 1).map((x) => x.labels.state), [n.lifecycle]);
    }
    assert.deepEqual(
      power.filter((s) => s.value === 1).map((s) => Number(s.labels.node)),
      [3, 4, 20, 21, 22],
    );
    assert.equal(
      values(p, "cluster_node_lifecycle").find((s) => s.labels.node === "3" && s.value === 1)
        ?.labels.state,
      "running",
    );
    assert.deepEqual(values(p, "cluster_node_cpu_temperature_celsius"), [
      {
        name: "cluster_node_cpu_temperature_celsius",
        labels: { module: "NMEBW9HT", node: "3" },
        value: 51.5,
      },
    ]);
    assert.deepEqual(values(p, "cluster_node_load1").map((s) => [s.labels.node, s.value]), [
      ["3", 0.75],
      ["21", 0.21],
    ]);
    const mem = values(p, "cluster_node_memory_available_bytes").find((s) =>
      s.labels.node === "21"
    );
    assert.equal(mem?.value, t.hub.status.node(21).agent?.health.memAvailableBytes);
    const ages = values(p, "cluster_node_heartbeat_age_seconds");
    assert.deepEqual(ages.map((s) => s.labels.node), ["3", "21"]);
    for (const a of ages) assert.ok(a.value >= 0 && a.value < 60, `age ${a.value}`);

    // Counters equal the runner's and the log's own counts.
    const jobs = values(p, "cluster_jobs_total");
    assert.deepEqual(
      Object.fromEntries(jobs.map((s) => [`${s.labels.kind}:${s.labels.state}`, s.value])),
      Object.fromEntries(t.hub.jobs.finished),
    );
    assert.equal(
      jobs.find((s) => s.labels.kind === "power" && s.labels.state === "succeeded")?.value,
      3,
    );
    assert.deepEqual(
      Object.fromEntries(values(p, "cluster_events_total").map((s) => [s.labels.type, s.value])),
      Object.fromEntries(t.hub.events.counts),
    );

    // HTTP metrics use the route pattern, never the raw path.
    const http = values(p, "cluster_http_requests_total");
    const count = (method: string, route: string, status: string) =>
      http.find((s) =>
        s.labels.method === method && s.labels.route === route && s.labels.status === status
      )?.value;
    assert.equal(count("POST", "/api/v1/nodes/:id/power", "200"), 2);
    assert.equal(count("POST", "/api/v1/power", "200"), 1);
    assert.equal(count("POST", "/api/v1/agent/heartbeat", "200"), 2);
    assert.equal(count("GET", "/api/v1/nodes/:id", "200"), 2);
    assert.equal(count("GET", "unmatched", "404"), 1);
    assert.ok(!http.some((s) => /\/nodes\/[0-9]/.test(s.labels.route)), "no raw paths as labels");

    // Histogram: cumulative buckets, +Inf equals _count, one series per method and route.
    const series = new Map<string, Sample[]>();
    for (const s of values(p, "cluster_http_request_duration_seconds_bucket")) {
      const k = `${s.labels.method} ${s.labels.route}`;
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    assert.ok(series.has("POST /api/v1/nodes/:id/power"));
    for (const [k, buckets] of series) {
      const les = buckets.map((b) => (b.labels.le === "+Inf" ? Infinity : Number(b.labels.le)));
      assert.deepEqual(les, [...les].sort((a, b) => a - b), `${k}: le ascending`);
      assert.equal(les.at(-1), Infinity);
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i].value >= buckets[i - 1].value, `${k}: cumulative`);
      }
      const [method, route] = k.split(" ");
      const c = values(p, "cluster_http_request_duration_seconds_count").find((s) =>
        s.labels.method === method && s.labels.route === route
      );
      assert.equal(c?.value, buckets.at(-1)!.value, `${k}: +Inf = count`);
      const total = http.filter((s) => s.labels.method === method && s.labels.route === route)
        .reduce((a, s) => a + s.value, 0);
      assert.equal(c?.value, total, `${k}: count = requests`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("exposition escapes label values and help text", () => {
  const tricky = 'a "quoted" back\\slash\nnewline';
  assert.equal(escapeLabel(tricky), 'a \\"quoted\\" back\\\\slash\\nnewline');
  const doc = new Exposition()
    .family("x_total", "counter", "help with \\ and\nnewline")
    .sample("x_total", { v: tricky }, 2)
    .sample("x_total", { v: "plain" }, Infinity)
    .toString();
  const p = parseExposition(doc);
  assert.equal(p.help.get("x_total"), "help with \\\\ and\\nnewline");
  assert.deepEqual(p.samples[0], { name: "x_total", labels: { v: tricky }, value: 2 });
  assert.equal(p.samples[1].value, Infinity);
});

Deno.test("made-up HTTP methods do not create new metric series", async () => {
  const t = await startTestHub();
  try {
    for (const method of ["FOO", "BAR", "X3361"]) {
      await (await t.hub.app.request("/api/v1/nodes", { method })).body?.cancel();
    }
    const text = await (await t.hub.app.request("/metrics")).text();
    assert.doesNotMatch(text, /method="(FOO|BAR|X3361)"/);
    assert.match(text, /cluster_http_requests_total\{module="NMEBW9HT",method="OTHER",[^}]*\} 3/);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
