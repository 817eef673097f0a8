/**
 * The monitoring examples: the Prometheus alert rules pass `promtool check rules` and their own
 * `promtool test rules` cases, the scrape config passes `promtool check config`, and every
 * metric the rules and the Grafana dashboard query is one the hub really exports.
 */
import assert from "node:assert/strict";
import { startTestHub } from "../support/test_hub.ts";

const DIR = "examples/monitoring";
const CI = Deno.env.get("CI") === "true";
const promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (!promtool && !CI) {
  console.warn("promtool tests SKIPPED: promtool (Debian package prometheus) is missing");
}

async function run(args: string[]) {
  const r = await new Deno.Command(promtool!, { args, cwd: DIR, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { code: r.code, text: d.decode(r.stdout) + d.decode(r.stderr) };
}

Deno.test({
  name: "promtool checks the alert rules and the scrape config, and runs the rules' test cases",
  ignore: !promtool && !CI,
  fn: async () => {
    let r = await run(["check", "rules", "cluster-hub.rules.yml"]);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /SUCCESS: 6 rules found/);
    r = await run(["test", "rules", "cluster-hub.rules.test.yml"]);
    assert.equal(r.code, 0, r.text);
    r = await run(["check", "config", "prometheus.yml"]);
    assert.equal(r.code, 0, r.text);
  },
});

/** The metric names the hub's /metrics document declares (`# TYPE name …`). */
async function exportedMetrics(): Promise<Set<string>> {
  const t = await startTestHub();
  try {
    const text = await (await t.call("GET", "/metrics")).text();
    const names = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(m[1]);
      if (m[2] === "histogram") {
        for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1] + s);
      }
    }
    return names;
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

/** `cluster_…` metric names in a PromQL expression. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(cluster_[a-z0-9_]+)/g)].map((m) => m[1]);
}

Deno.test("the rules and the Grafana dashboard query only metrics the hub exports", async () => {
  const exported = await exportedMetrics();
  assert.ok(exported.has("cluster_hub_start_time_seconds"), "the restart alert has its metric");
  const rules = await Deno.readTextFile(`${DIR}/cluster-hub.rules.yml`);
  const exprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]);
  assert.equal(exprs.length, 6);
  for (const name of exprs.flatMap(metricsIn)) assert.ok(exported.has(name), `rules: ${name}`);
  for (const alert of ["NodeLost", "BootQuarantined", "NodeUnderVoltage", "HubRestarted"]) {
    assert.match(rules, new RegExp(`alert: Cluster${alert}\\n`));
  }

  const dashboard = JSON.parse(
    await Deno.readTextFile(`${DIR}/grafana/dashboards/cluster-hub.json`),
  ) as {
    uid: string;
    panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
  };
  const datasource = await Deno.readTextFile(
    `${DIR}/grafana/provisioning/datasources/cluster-hub.yml`,
  );
  const uid = datasource.match(/^\s+uid: (\S+)$/m)?.[1];
  assert.ok(uid, "the provisioned datasource has a uid");
  const queried = new Set<string>();
  for (const p of dashboard.panels) {
    assert.equal(p.datasource.uid, uid, `${p.title}: the provisioned datasource`);
    assert.ok(p.targets.length > 0, `${p.title}: has a query`);
    for (const target of p.targets) {
      const names = metricsIn(target.expr);
      assert.ok(names.length > 0, `${p.title}: ${target.expr} queries a hub metric`);
      for (const name of names) {
        assert.ok(exported.has(name), `${p.title}: ${name} is not exported by the hub`);
        queried.add(name);
      }
    }
  }
  assert.ok(queried.size >= 10, `the dashboard covers the hub's metrics: ${[...queried]}`);
  const provider = await Deno.readTextFile(
    `${DIR}/grafana/provisioning/dashboards/cluster-hub.yml`,
  );
  assert.match(provider, /^\s+path: \/var\/lib\/grafana\/dashboards\/cluster-hub$/m);
});
