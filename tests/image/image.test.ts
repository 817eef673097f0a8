/**
 * scripts/image: the content-addressed cache key of the node image and the step that puts a
 * cached image where the hub serves it with the agent installed. (Building the image itself,
 * mmdebstrap for 1.5 to 2 minutes, is exercised by the netboot end-to-end test.)
 */
import assert from "node:assert/strict";

const IMAGE = new URL("../../scripts/image/", import.meta.url).pathname;
/** The arm64 node image's modprobe blacklist (tests/image/node_modprobe.test.ts). */
const BLACKLIST = "cluster-node-modprobe.conf";

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout).trim(), stderr: text(out.stderr) };
}

Deno.test("image cache key: same inputs, same dir; another arch or a changed input, another", async () => {
  // A copy of the project's scripts/image (its inputs changed below), beside the real
  // scripts/lib and scripts/pi-lab it calls (the arm64 key names Debian's kernel package).
  const proj = await Deno.makeTempDir({ prefix: "cm-image-scripts-" });
  const copy = `${proj}/scripts/image`;
  try {
    await Deno.mkdir(copy, { recursive: true });
    for (const dir of ["lib", "pi-lab"]) {
      await Deno.symlink(`${IMAGE}../${dir}`, `${proj}/scripts/${dir}`);
    }
    for (const f of ["build.sh", "cm-overlay.sh", "cm-overlay.service", BLACKLIST]) {
      await Deno.copyFile(`${IMAGE}${f}`, `${copy}/${f}`);
    }
    const dir = async (arch: string) => {
      const r = await run("sh", [
        `${copy}/build.sh`,
        "--arch",
        arch,
        "--cache",
        "/c",
        "--print-dir",
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const a = await dir("amd64");
    assert.match(a, /^\/c\/amd64-[0-9a-f]{16}$/);
    assert.equal(await dir("amd64"), a);
    const arm = await dir("arm64");
    assert.match(arm, /^\/c\/arm64-[0-9a-f]{16}$/);
    assert.notEqual(arm.slice(-16), a.slice(-16));
    // the node's modprobe blacklist is an input of the arm64 image only
    await Deno.writeTextFile(`${copy}/${BLACKLIST}`, "blacklist v3d\n", { append: true });
    assert.notEqual(await dir("arm64"), arm);
    assert.equal(await dir("amd64"), a);
    await Deno.writeTextFile(`${copy}/cm-overlay.sh`, "\n# changed\n", { append: true });
    assert.notEqual(await dir("amd64"), a);
    const bad = await run("sh", [`${copy}/build.sh`, "--arch", "riscv64", "--print-dir"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--arch must be amd64 or arm64/);
  } finally {
    await Deno.remove(proj, { recursive: true });
  }
});

Deno.test("image.sh: a cached image is reused, served as pxe/boot + pxe/root, agent installed, cache untouched", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "cm-image-" });
  try {
    const cache = `${tmp}/cache`;
    const base = (await run("sh", [`${IMAGE}build.sh`, "--cache", cache, "--print-dir"])).stdout;
    // a "built" base image: what build.sh leaves (.ready marks it complete)
    await Deno.mkdir(`${base}/pxe/root/etc`, { recursive: true });
    await Deno.mkdir(`${base}/pxe/boot`, { recursive: true });
    await Deno.writeTextFile(`${base}/pxe/root/etc/group`, "root:x:0:\ngpio:x:999:\n");
    await Deno.writeTextFile(`${base}/pxe/boot/vmlinuz`, "kernel");
    await Deno.writeTextFile(`${base}/.ready`, "test\n");
    const out = `${tmp}/out`;
    await Deno.mkdir(`${out}/pxe/boot`, { recursive: true });
    await Deno.writeTextFile(`${out}/pxe/boot/cmdline.txt`, "the hub's\n");
    await Deno.writeTextFile(`${tmp}/key`, "k3y\n");
    const r = await run("sh", [
      `${IMAGE}image.sh`,
      "--out",
      out,
      "--cache",
      cache,
      "--hub",
      "http://10.42.0.250:4242",
      "--key-file",
      `${tmp}/key`,
      "--deno-binary",
      Deno.execPath(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${out}/pxe`);
    assert.equal(await Deno.readTextFile(`${out}/pxe/boot/vmlinuz`), "kernel");
    assert.equal(await Deno.readTextFile(`${out}/pxe/boot/cmdline.txt`), "the hub's\n");
    assert.match(
      await Deno.readTextFile(`${out}/pxe/root/etc/cluster-agent/agent.json`),
      /"hub":"http:\/\/10\.42\.0\.250:4242"/,
    );
    assert.ok(await Deno.stat(`${out}/pxe/root/opt/cluster-agent/cluster-agent.js`));
    assert.ok(await Deno.stat(`${out}/pxe/root/etc/systemd/system/cluster-agent.service`));
    // the cache still holds only the base image
    assert.equal(await Deno.stat(`${base}/pxe/root/opt`).catch(() => null), null);
    assert.equal(await Deno.stat(`${base}/pxe/root/etc/cluster-agent`).catch(() => null), null);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
