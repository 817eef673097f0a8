/** The gate's cap in all follows the process's open-file limit. */
import assert from "node:assert/strict";
import {
  connectionCapFor,
  FD_RESERVE,
  FDS_PER_CONNECTION,
  openFileLimit,
} from "../../../hub/http/tcp_gate.ts";

Deno.test("fd limit: read from /proc/self/limits; the cap leaves the reserve free", () => {
  const text = "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max open files            1024                 524288               files\n";
  assert.equal(openFileLimit(text), 1024);
  assert.equal(
    openFileLimit("Max open files  unlimited  unlimited  files"),
    Number.MAX_SAFE_INTEGER,
  );
  assert.equal(openFileLimit("nothing here"), null);
  assert.equal(typeof openFileLimit(), "number", "this process's own limit is readable");
  const cap = connectionCapFor(1000, 1024);
  assert.equal(cap, Math.floor((1024 - FD_RESERVE) / FDS_PER_CONNECTION));
  assert.ok(cap * FDS_PER_CONNECTION + FD_RESERVE <= 1024);
  assert.equal(connectionCapFor(1000, 8192), 1000);
  assert.equal(connectionCapFor(1000, null), 1000);
});
