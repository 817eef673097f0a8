import assert from "node:assert/strict";
import { ApiClient } from "../../hub/cli/api_client.ts";
import type { CliContext } from "../../hub/cli/command.ts";
import { macsCommand, netbootCommand, nodeCommand } from "../../hub/cli/verbs/netboot.ts";
import { ClusterError } from "../../shared/errors.ts";

/** An ApiClient whose requests are answered by `handler` and recorded. */
function fakeApi(handler: (method: string, path: string, body: unknown) => unknown) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const api = new ApiClient({ baseUrl: "http://hub.invalid" });
  api.request = <T>(method: string, path: string, body?: unknown): Promise<T> => {
    calls.push({ method, path, body });
    return Promise.resolve(handler(method, path, body) as T);
  };
  return { api, calls };
}

function ctx(api: ApiClient, args: string[], json = false) {
  const out: string[] = [];
  const c: CliContext = { api, args, json, out: (l) => out.push(l), err: () => {} };
  return { c, out };
}

const apply = {
  mode: "live",
  dir: null,
  written: ["/etc/cluster-module/netboot/dhcp-hosts"],
  unchanged: [],
  reloads: [{ action: "dnsmasq-hup", ok: true, detail: "SIGHUP" }],
  at: 1,
};

Deno.test("netboot apply posts to /netboot/apply and exits 1 when a reload failed", async () => {
  const { api, calls } = fakeApi(() => apply);
  const { c, out } = ctx(api, ["apply"]);
  assert.equal(await netbootCommand.run(c), 0);
  assert.deepEqual(calls, [{ method: "POST", path: "/netboot/apply", body: {} }]);
  assert.ok(out.some((l) => l.includes("dnsmasq-hup")));
  const bad = fakeApi(() => ({
    ...apply,
    reloads: [{ action: "exportfs", ok: false, detail: "x" }],
  }));
  assert.equal(await netbootCommand.run(ctx(bad.api, ["apply"]).c), 1);
});

Deno.test("netboot render prints the named file only; --json prints the answer", async () => {
  const files = [
    { name: "dnsmasq/dhcp-hosts", path: "/e/dhcp-hosts", content: "AAA\n", reload: "dnsmasq-hup" },
    { name: "nat/rules.v4", path: "/e/rules.v4", content: "BBB\n", reload: "iptables" },
  ];
  const { api, calls } = fakeApi(() => ({ files, applied: null }));
  const { c, out } = ctx(api, ["render", "rules.v4"]);
  assert.equal(await netbootCommand.run(c), 0);
  assert.deepEqual(calls[0].body, { write: false });
  assert.ok(out.includes("BBB"));
  assert.ok(!out.includes("AAA"));
  const j = ctx(api, ["render", "--write"], true);
  await netbootCommand.run(j.c);
  assert.deepEqual(calls[1].body, { write: true });
  assert.deepEqual(JSON.parse(j.out.join("\n")).files, files);
});

Deno.test("netboot with an unknown subverb is a user error", async () => {
  const { api } = fakeApi(() => ({}));
  await assert.rejects(netbootCommand.run(ctx(api, ["restart"]).c), ClusterError);
});

Deno.test("macs prints a table; node reset posts force only with --force", async () => {
  const { api, calls } = fakeApi((_m, path) =>
    path === "/macs"
      ? {
        macs: [{ node: 3, hostname: "node03", ip: "10.42.0.3", mac: "b8:27:eb:00:00:03" }],
        unknown: [],
        waitingFor: null,
      }
      : { node: 3, path: "/pxe/overlay/node03", removed: 2 }
  );
  const m = ctx(api, []);
  assert.equal(await macsCommand.run(m.c), 0);
  assert.ok(m.out.some((l) => /^3\s+node03\s+10\.42\.0\.3\s+b8:27:eb:00:00:03$/.test(l)));
  await nodeCommand.run(ctx(api, ["reset", "3"]).c);
  await nodeCommand.run(ctx(api, ["reset", "3", "--force"]).c);
  assert.deepEqual(calls.slice(1), [
    { method: "POST", path: "/nodes/3/reset", body: { force: false } },
    { method: "POST", path: "/nodes/3/reset", body: { force: true } },
  ]);
  await assert.rejects(nodeCommand.run(ctx(api, ["reset"]).c), /usage/);
  await assert.rejects(nodeCommand.run(ctx(api, ["reset", "3/../x"]).c), /not a node id/);
  assert.equal(calls.length, 3);
});
