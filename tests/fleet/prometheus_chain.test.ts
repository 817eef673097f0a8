/**
 * The shipped Prometheus deployment with the real programs: three hubs on loopback ports, a
 * site Prometheus scraping them (deploy/prometheus/prometheus-site.yml), a global one
 * federating it (prometheus-global.yml) with the shipped rules, and Alertmanager
 * (deploy/alertmanager/alertmanager.yml) delivering to a webhook in this test. Stopping the
 * agent of one node of one hub must arrive as a NodeLost alert naming module and node.
 * Only the intervals are shortened (15 s → 1 s, `for: 1m` → 2 s) and the addresses filled in.
 */
import assert from "node:assert/strict";
import { freePort, requirePrograms, run, startHubProcess } from "./fleet_support.ts";
import type { HubProcess } from "./fleet_support.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;

/** The shipped file with the test's short intervals. */
function shortened(text: string): string {
  return text.replace(/(scrape_interval|evaluation_interval|refresh_interval): \d+s/g, "$1: 1s")
    .replace(/for: 1m/g, "for: 2s")
    .replace(/group_wait: 30s/, "group_wait: 1s")
    .replace(/group_interval: 5m/, "group_interval: 1s");
}

interface Alert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Spawns a long-running program; its output is kept for the failure message. */
function spawn(cmd: string, args: string[]) {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  let out = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) out = (out + dec.decode(c)).slice(-20_000);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    output: () => out,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await pumps;
    },
  };
}

async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms: number,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (${last})` : ""}`);
}

Deno.test("Prometheus → federation → Alertmanager: a node whose agent stops fires NodeLost naming module and node", async () => {
  const progs = requirePrograms(["prometheus", "prometheus-alertmanager", "promtool"]);
  if (!progs) return;
  const dir = await Deno.makeTempDir({ prefix: "cm-fleet-prom-" });
  const cleanup: (() => Promise<void>)[] = [];
  const alerts: Alert[] = [];
  const webhook = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const body = await req.json();
      alerts.push(...(body.alerts as Alert[]));
      return new Response("ok");
    },
  );
  cleanup.push(() => webhook.shutdown());
  try {
    // The shipped rules and configs are valid as shipped.
    let r = await run(progs.promtool, [
      "check",
      "rules",
      `${DEPLOY}prometheus/rules/fleet.rules.yml`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);

    // Three hubs; the agents of hub B's nodes 7 and 8 run as their own processes.
    const hubs: HubProcess[] = [];
    for (const module of ["A", "B", "C"]) {
      const h = await startHubProcess(`${dir}/hub-${module}`, [
        "--module",
        module,
        "--lost-after-ms",
        "1500",
      ]);
      hubs.push(h);
      cleanup.push(() => h.stop());
    }
    const b = hubs[1];
    const power = await fetch(`${b.url}/api/v1/power`, {
      method: "POST",
      headers: { authorization: "Bearer T", "content-type": "application/json" },
      body: JSON.stringify({ state: "on", nodes: "7,8" }),
    });
    assert.equal(power.status, 200, await power.text());
    const agents = [7, 8].map((node) =>
      spawn(Deno.execPath(), [
        "run",
        "--allow-all",
        "node-agent/main.ts",
        "--hub",
        b.url,
        "--key",
        "K",
        "--node",
        String(node),
        "--sim",
        "--interval-ms",
        "300",
      ])
    );
    for (const a of agents) cleanup.push(() => a.stop());
    await waitUntil("nodes B:7 and B:8 running", async () => {
      const nodes = await (await fetch(`${b.url}/api/v1/nodes`)).json();
      return nodes[6].lifecycle === "running" && nodes[7].lifecycle === "running"
        ? true
        : undefined;
    }, 60_000);

    // The deployment, copied as shipped, with short intervals and the test's addresses.
    const site = `${dir}/site`, global = `${dir}/global`, am = `${dir}/am`;
    for (const d of [site, global, am]) {
      await Deno.mkdir(`${d}/targets`, { recursive: true });
      await Deno.mkdir(`${d}/rules`, { recursive: true });
    }
    const hostPort = (url: string) => new URL(url).host;
    await Deno.writeTextFile(
      `${site}/prometheus.yml`,
      shortened(await Deno.readTextFile(`${DEPLOY}prometheus/prometheus-site.yml`)),
    );
    await Deno.writeTextFile(
      `${site}/targets/hubs-test.json`,
      JSON.stringify([{ targets: hubs.map((h) => hostPort(h.url)) }]),
    );
    await Deno.writeTextFile(
      `${global}/prometheus.yml`,
      shortened(await Deno.readTextFile(`${DEPLOY}prometheus/prometheus-global.yml`)),
    );
    await Deno.writeTextFile(
      `${global}/rules/fleet.rules.yml`,
      shortened(await Deno.readTextFile(`${DEPLOY}prometheus/rules/fleet.rules.yml`)),
    );
    const [sitePort, globalPort, amPort] = [freePort(), freePort(), freePort()];
    await Deno.writeTextFile(
      `${global}/targets/sites-test.json`,
      JSON.stringify([{ targets: [`127.0.0.1:${sitePort}`] }]),
    );
    await Deno.writeTextFile(
      `${global}/targets/alertmanagers-test.json`,
      JSON.stringify([{ targets: [`127.0.0.1:${amPort}`] }]),
    );
    await Deno.writeTextFile(
      `${am}/alertmanager.yml`,
      shortened(await Deno.readTextFile(`${DEPLOY}alertmanager/alertmanager.yml`)).replace(
        "http://127.0.0.1:9095/alerts",
        `http://127.0.0.1:${webhook.addr.port}/alerts`,
      ),
    );
    for (const d of [site, global]) {
      r = await run(progs.promtool, ["check", "config", `${d}/prometheus.yml`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const prom = (d: string, port: number) =>
      spawn(progs.prometheus, [
        `--config.file=${d}/prometheus.yml`,
        `--storage.tsdb.path=${d}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
      ]);
    const procs = [
      prom(site, sitePort),
      prom(global, globalPort),
      spawn(progs["prometheus-alertmanager"], [
        `--config.file=${am}/alertmanager.yml`,
        `--storage.path=${am}/data`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        "--cluster.listen-address=",
      ]),
    ];
    for (const p of procs) cleanup.push(() => p.stop());
    const context = () => procs.map((p) => p.output().slice(-2000)).join("\n----\n");

    // The global server sees all three modules through the site server's /federate.
    const query = async (q: string) => {
      const res = await fetch(
        `http://127.0.0.1:${globalPort}/api/v1/query?query=${encodeURIComponent(q)}`,
      );
      return (await res.json()).data?.result as { metric: Record<string, string> }[] | undefined;
    };
    const modules = await waitUntil("federated series of A, B and C", async () => {
      const res = await query('count by (module) (cluster_node_power_on{job="cluster-hub"})');
      const m = (res ?? []).map((x) => x.metric.module).sort();
      return m.length === 3 ? m : undefined;
    }, 40_000).catch((e) => {
      throw new Error(`${e.message}\n${context()}`);
    });
    assert.deepEqual(modules, ["A", "B", "C"]);
    assert.equal(alerts.length, 0, "no alert before a node is lost");

    // Stop the agent of node 7 of module B: lost on the hub, NodeLost at the webhook.
    const stoppedAt = Date.now();
    await agents[0].stop();
    const lost = await waitUntil(
      "NodeLost delivered by Alertmanager",
      () =>
        Promise.resolve(
          alerts.find((a) => a.labels.alertname === "NodeLost" && a.status === "firing"),
        ),
      60_000,
    )
      .catch((e) => {
        throw new Error(`${e.message}\n${context()}`);
      });
    assert.equal(lost.labels.module, "B");
    assert.equal(lost.labels.node, "7");
    assert.equal(lost.annotations.summary, "node B:7 lost");
    // Only that node: B:8 still reports, A and C have nothing lost.
    const firing = alerts.filter((a) => a.labels.alertname === "NodeLost");
    assert.deepEqual([...new Set(firing.map((a) => `${a.labels.module}:${a.labels.node}`))], [
      "B:7",
    ]);
    const nodes = await (await fetch(`${b.url}/api/v1/nodes`)).json();
    assert.equal(nodes[6].lifecycle, "lost");
    assert.equal(nodes[7].lifecycle, "running");
    console.log(
      `NodeLost delivered ${
        ((Date.now() - stoppedAt) / 1000).toFixed(1)
      } s after the agent stopped`,
    );
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
