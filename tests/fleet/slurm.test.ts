/**
 * Slurm's power saving through the hubs: the real slurmctld (and munge), configured with
 * ResumeProgram/SuspendProgram = the shipped deploy/slurm scripts, resumes the nodes a job
 * needs (the hubs must power exactly those) and suspends a node powered down in Slurm. Also: host → hub mapping and `cm slurm` itself.
 */
import assert from "node:assert/strict";
import { runCli } from "../../hub/cli/main.ts";
import { mapHosts } from "../../hub/cli/fleet/slurm_verb.ts";
import { type ServedHub, serveTestHub } from "../support/test_hub.ts";
import { freePort, requirePrograms, run, writeCmProgram } from "./fleet_support.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function on(t: ServedHub): number[] {
  return t.hub.status.nodes().filter((n) => n.power.actual === "on").map((n) => n.id);
}

async function twoHubs(dir: string): Promise<{ hubs: ServedHub[]; hubsFile: string }> {
  const hubs = [
    await serveTestHub({ settings: { module: "A" } }),
    await serveTestHub({ settings: { module: "B" } }),
  ];
  await Deno.writeTextFile(`${dir}/token`, "test-admin-token\n");
  const hubsFile = `${dir}/hubs.json`;
  await Deno.writeTextFile(
    hubsFile,
    JSON.stringify({
      hubs: [
        { name: "hub-a", url: hubs[0].url, tokenFile: `${dir}/token` },
        { name: "hub-b", url: hubs[1].url, tokenFile: `${dir}/token`, slurmPrefix: "rowb" },
      ],
    }),
  );
  return { hubs, hubsFile };
}

Deno.test("slurm host mapping: <module>-nodeN by default, slurmPrefix, plain hostnames for one hub", () => {
  const a = { name: "a", url: "http://a", module: "A" };
  const b = { name: "b", url: "http://b", module: "B", slurmPrefix: "rowb" };
  const m = mapHosts(["a-node07", "A-NODE8", "rowb01", "rowb61", "node03", "c-node1"], [a, b]);
  assert.deepEqual([...m.byHub].map(([h, n]) => [h.name, n]), [["a", [7, 8]], ["b", [1]]]);
  assert.deepEqual(m.unknown, ["rowb61", "node03", "c-node1"]);
  assert.deepEqual([...mapHosts(["node03"], [a]).byHub].map(([h, n]) => [h.name, n]), [
    ["a", [3]],
  ]);
  assert.throws(
    () => mapHosts(["x1"], [{ ...a, slurmPrefix: "x" }, { ...b, slurmPrefix: "x" }]),
    /matches hubs a and b: give them distinct slurmPrefix/,
  );
});

Deno.test("cm slurm resume|suspend HOSTLIST powers exactly those nodes, hub by hub; unknown hosts named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cm-fleet-slurm-" });
  const { hubs, hubsFile } = await twoHubs(dir);
  try {
    const cm = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const env = (n: string) => ({ CM_HUBS: hubsFile } as Record<string, string>)[n];
      const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    let r = await cm(["slurm", "resume", "a-node[02-04],rowb[10-11],a-node07"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /module A \(hub hub-a\): nodes 2-4,7 on/);
    assert.match(r.err, /module B \(hub hub-b\): nodes 10-11 on/);
    assert.deepEqual(on(hubs[0]), [2, 3, 4, 7]);
    assert.deepEqual(on(hubs[1]), [10, 11]);
    r = await cm(["slurm", "suspend", "a-node03,zz[1-2]"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no hub has zz1, zz2 \(hosts are a-nodeN \(hub-a\), rowbN \(hub-b\)\)/);
    assert.deepEqual(on(hubs[0]), [2, 4, 7]);
    r = await cm(["slurm", "resume", "a-node[1-2", "--dry-run"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /"\[" without "\]"/);
    r = await cm(["slurm", "resume", "a-node[10-12]", "--dry-run"]);
    assert.equal(r.code, 0);
    assert.deepEqual(on(hubs[0]), [2, 4, 7]);
  } finally {
    for (const h of hubs) {
      await h.close();
      await Deno.remove(h.dataDir, { recursive: true });
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("slurmctld's power saving resumes a job's nodes through the hubs, and suspends one (real slurmctld, munge)", async () => {
  const progs = requirePrograms(["slurmctld", "munged", "sbatch", "scancel", "scontrol"]);
  if (!progs) return;
  const dir = await Deno.makeTempDir({ prefix: "cm-fleet-slurmctld-" });
  const { hubs, hubsFile } = await twoHubs(dir);
  const daemons: Deno.ChildProcess[] = [];
  try {
    // munge with a key of its own, on a socket of its own.
    const key = new Uint8Array(1024);
    crypto.getRandomValues(key);
    await Deno.writeFile(`${dir}/munge.key`, key, { mode: 0o400 });
    const sock = `${dir}/munge.sock`;
    daemons.push(
      new Deno.Command(progs.munged, {
        args: [
          "-F",
          "-f",
          `--socket=${sock}`,
          `--key-file=${dir}/munge.key`,
          `--log-file=${dir}/munged.log`,
          `--pid-file=${dir}/munged.pid`,
          `--seed-file=${dir}/munged.seed`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
    // The shipped programs, with their settings file (slurmctld passes little environment).
    const cmProgram = await writeCmProgram(dir);
    await Deno.writeTextFile(
      `${dir}/cm-slurm.env`,
      `CM='${cmProgram}'\nCM_HUBS='${hubsFile}'\nCM_SLURM_LOG='${dir}/cm-slurm.log'\n`,
    );
    for (const action of ["resume", "suspend"]) {
      await Deno.writeTextFile(
        `${dir}/${action}`,
        `#!/bin/sh\nCM_SLURM_ENV='${dir}/cm-slurm.env' exec '${ROOT}deploy/slurm/cm-slurm-${action}' "$@"\n`,
      );
      await Deno.chmod(`${dir}/${action}`, 0o755);
    }
    await Deno.mkdir(`${dir}/state`);
    const conf = `${dir}/slurm.conf`;
    await Deno.writeTextFile(
      conf,
      [
        "ClusterName=fleettest",
        `SlurmctldHost=${Deno.hostname()}`,
        `SlurmctldPort=${freePort()}`,
        `SlurmdPort=${freePort()}`,
        "SlurmUser=root",
        "AuthType=auth/munge",
        `AuthInfo=socket=${sock}`,
        "CredType=cred/munge",
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/linear",
        "MpiDefault=none",
        "JobCompType=jobcomp/none",
        "AccountingStorageType=accounting_storage/none",
        // Power saving, as in docs/fleet.md.
        `ResumeProgram=${dir}/resume`,
        `SuspendProgram=${dir}/suspend`,
        "SuspendTime=600",
        "SuspendTimeout=30",
        "ResumeTimeout=300",
        "NodeName=a-node[01-04] CPUs=1 State=CLOUD",
        "NodeName=rowb[01-04] CPUs=1 State=CLOUD",
        "PartitionName=fleet Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
      ].join("\n") + "\n",
    );
    const env = { SLURM_CONF: conf };
    await new Promise((r) => setTimeout(r, 300)); // munged's socket
    daemons.push(
      new Deno.Command(progs.slurmctld, {
        args: ["-D", "-f", conf],
        env,
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
    // A job on three nodes of two modules: slurmctld must resume exactly those.
    let submitted = { code: 1, stdout: "", stderr: "" };
    for (let i = 0; i < 40 && submitted.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      submitted = await run(progs.sbatch, ["-N3", "-w", "a-node[02-03],rowb04", "--wrap", "true"], {
        env,
      });
    }
    assert.equal(submitted.code, 0, `sbatch: ${submitted.stderr}`);
    const log = async () => {
      const read = (p: string) => Deno.readTextFile(p).catch(() => "");
      return `cm-slurm.log:\n${await read(`${dir}/cm-slurm.log`)}\nslurmctld.log:\n${
        (await read(`${dir}/slurmctld.log`)).slice(-3000)
      }`;
    };
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (on(hubs[0]).length < 2 || on(hubs[1]).length < 1)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(on(hubs[0]), [2, 3], await log());
    assert.deepEqual(on(hubs[1]), [4], await log());
    const calls = await Deno.readTextFile(`${dir}/cm-slurm.log`);
    assert.match(calls, /resume a-node\[02-03\],rowb04/);
    assert.match(calls, /module A \(hub hub-a\): nodes 2-3 on/);
    assert.match(calls, /module B \(hub hub-b\): nodes 4 on/);

    // Powering a node down in Slurm calls the SuspendProgram: that node goes off, only it.
    const jobId = submitted.stdout.match(/job (\d+)/)?.[1] ?? "";
    assert.equal((await run(progs.scancel, [jobId], { env })).code, 0);
    const down = await run(progs.scontrol, [
      "update",
      "nodename=rowb04",
      "state=power_down_force",
    ], { env });
    assert.equal(down.code, 0, down.stderr);
    const offBy = Date.now() + 60_000;
    while (Date.now() < offBy && on(hubs[1]).length > 0) {
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(on(hubs[1]), [], await log());
    assert.deepEqual(on(hubs[0]), [2, 3]);
    assert.match(await Deno.readTextFile(`${dir}/cm-slurm.log`), /suspend rowb04/);
  } finally {
    for (const d of daemons.reverse()) {
      try {
        d.kill("SIGTERM");
      } catch { /* gone */ }
      await d.status;
    }
    for (const h of hubs) {
      await h.close();
      await Deno.remove(h.dataDir, { recursive: true });
    }
    await Deno.remove(dir, { recursive: true });
  }
});
