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
