/** Bearer secrets: generation, storage, comparison, header parsing. */
import assert from "node:assert/strict";
import {
  bearerToken,
  generateSecret,
  loadOrCreateSecret,
  secretMatches,
} from "../../hub/auth/secrets.ts";

Deno.test("secretMatches accepts only the exact token", () => {
  const s = generateSecret();
  assert.ok(secretMatches(s, s));
  assert.ok(!secretMatches(undefined, s));
  assert.ok(!secretMatches("", s));
  assert.ok(!secretMatches(s.slice(0, -1), s), "a prefix");
  assert.ok(!secretMatches(s + "x", s), "longer");
  assert.ok(
    !secretMatches(s.slice(0, -1) + (s.at(-1) === "a" ? "b" : "a"), s),
    "last char differs",
  );
  assert.ok(!secretMatches("\u0000".repeat(s.length), s));
  assert.ok(secretMatches("ünïcödé", "ünïcödé"));
  assert.ok(!secretMatches("ünïcödé", "unicode"));
});

Deno.test("generated secrets are long, URL-safe and distinct", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const s = generateSecret();
    assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 100);
});

Deno.test("bearerToken parses the Authorization header", () => {
  assert.equal(bearerToken("Bearer abc"), "abc");
  assert.equal(bearerToken("bearer   abc  "), "abc");
  assert.equal(bearerToken("Basic abc"), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

Deno.test("loadOrCreateSecret prefers the given value, then the file, then creates it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/token`;
    assert.deepEqual(loadOrCreateSecret(path, " given "), {
      value: "given",
      path: null,
      created: false,
    });
    const made = loadOrCreateSecret(path);
    assert.ok(made.created);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(loadOrCreateSecret(path).value, made.value);
    await Deno.writeTextFile(path, "\n");
    assert.ok(loadOrCreateSecret(path).created, "an empty file is replaced");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an existing secret file readable by others is made owner-only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/token`;
    await Deno.writeTextFile(path, "hand-written-token\n", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    assert.equal(loadOrCreateSecret(path).value, "hand-written-token");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a garbage secret file is refused at start with a message naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/token`;
    const cases: [string, Uint8Array, RegExp][] = [
      ["whitespace only", new TextEncoder().encode("   \t \n\n"), /only whitespace/],
      ["a NUL byte", new TextEncoder().encode("abc\u0000def\n"), /NUL/],
      ["all NUL", new Uint8Array(32), /NUL/],
      ["not UTF-8", new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x0a]), /not UTF-8/],
      ["space inside", new TextEncoder().encode("abc def\n"), /whitespace inside/],
      ["a control character", new TextEncoder().encode("abc\u0007def"), /U\+0007/],
      ["non-ASCII", new TextEncoder().encode("tökën\n"), /U\+00F6/],
    ];
    for (const [what, bytes, why] of cases) {
      await Deno.writeFile(path, bytes, { mode: 0o600 });
      assert.throws(() => loadOrCreateSecret(path), (e: unknown) => {
        assert.ok(e instanceof Error, what);
        assert.ok(e.message.includes(path), `${what}: ${e.message}`);
        assert.match(e.message, why, what);
        return true;
      }, what);
      assert.deepEqual(await Deno.readFile(path), bytes, `${what}: the file is left as it was`);
    }
    // A given value is held to the same rule.
    assert.throws(() => loadOrCreateSecret(path, "a\u0000b"), /NUL/);
    // A hand-written printable token with a line break after it is fine.
    await Deno.writeTextFile(path, "  Hand-Written_token.42~\r\n");
    assert.equal(loadOrCreateSecret(path).value, "Hand-Written_token.42~");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
