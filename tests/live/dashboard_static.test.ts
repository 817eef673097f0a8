/** The dashboard's static files: page, script, style and the favicon browsers ask for. */
import assert from "node:assert/strict";
import { startTestHub } from "../support/test_hub.ts";

Deno.test("the dashboard serves a favicon (no 404 for /favicon.ico) and links it", async () => {
  const t = await startTestHub();
  try {
    for (const path of ["/favicon.ico", "/dashboard/favicon.svg"]) {
      const res = await t.call("GET", path, undefined, { auth: false });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "image/svg+xml", path);
      assert.match(await res.text(), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, path);
    }
    const page = await (await t.call("GET", "/", undefined, { auth: false })).text();
    assert.match(page, /<link rel="icon" href="\/dashboard\/favicon\.svg" type="image\/svg\+xml">/);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});

Deno.test("the dashboard is native ES modules: every one is preloaded by the page and served as JavaScript", async () => {
  const t = await startTestHub();
  try {
    const page = await (await t.call("GET", "/", undefined, { auth: false })).text();
    assert.match(page, /<script type="module" src="\/dashboard\/app\.js"><\/script>/);
    const listed = [...page.matchAll(/<link rel="modulepreload" href="\/dashboard\/([^"]+)">/g)]
      .map((m) => m[1]);
    const onDisk: string[] = [];
    for (
      const e of Deno.readDirSync(new URL("../../hub/http/routes/dashboard/", import.meta.url))
    ) {
      if (e.name.endsWith(".js")) onDisk.push(e.name);
    }
    assert.deepEqual(listed, onDisk.sort(), "every module is preloaded, once");
    for (const name of listed) {
      const res = await t.call("GET", `/dashboard/${name}`, undefined, { auth: false });
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8", name);
      const body = await res.text();
      // Each imports only its neighbours, by a path the hub serves.
      for (const m of body.matchAll(/ from "\.\/([^"]+)";$/gm)) {
        assert.ok(onDisk.includes(m[1]), `${name} imports ${m[1]}`);
      }
    }
    const missing = await t.call("GET", "/dashboard/nope.js", undefined, { auth: false });
    assert.equal(missing.status, 404);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
});
