/**
 * Bearer secrets: the admin token (mutating REST/WebSocket calls, CLI) and the agent key
 * (node agents' heartbeats). Each comes from the environment/config, or is generated on
 * first start and stored in the data directory with 0600 permissions.
 */

/** A secret and whether this start created it (so it is printed once). */
export interface LoadedSecret {
  value: string;
  path: string | null;
  created: boolean;
}

/** A fresh 32-byte random secret, URL-safe base64. */
export function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/**
 * Why `text` cannot be a bearer secret, or null if it can: a token travels in an
 * `Authorization: Bearer …` header, so it is printable ASCII with no whitespace inside.
 */
function unusable(text: string): string | null {
  if (text === "") return "it holds only whitespace";
  if (text.includes("\u0000")) return "it has a NUL byte";
  const bad = text.match(/[^\x21-\x7e]/);
  if (!bad) return null;
  if (/\s/.test(bad[0])) return "it has whitespace inside it";
  const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `it has the character U+${code}, which is not printable ASCII`;
}

const RULE = "a token is printable ASCII without spaces (a generated one is URL-safe base64)";

/**
 * Uses `given` if set, else reads `path`, else creates it (mode 0600). An empty file (nothing,
 * or one line break) is replaced by a new secret; a file or value that cannot be a bearer
 * token (whitespace only, NUL bytes, not UTF-8, other characters a header cannot carry) is
 * refused with an error naming it: nothing could authenticate with it.
 */
export function loadOrCreateSecret(path: string, given?: string): LoadedSecret {
  if (given && given.trim() !== "") {
    const why = unusable(given.trim());
    if (why) {
      throw new Error(
        `the secret given on the command line or environment is unusable: ${why}; ${RULE}`,
      );
    }
    return { value: given.trim(), path: null, created: false };
  }
  let bytes: Uint8Array | null = null;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (bytes !== null) {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new Error(
        `${path} does not hold a usable token: it is not UTF-8 text; ${RULE}. Fix the file, or delete it to have the hub generate a new one`,
      );
    }
    if (!/^(\r?\n)?$/.test(text)) {
      const why = unusable(text.trim());
      if (why) {
        throw new Error(
          `${path} does not hold a usable token: ${why}; ${RULE}. Fix the file, or delete it to have the hub generate a new one`,
        );
      }
      // A secret file someone wrote by hand may be readable by others: make it owner-only.
      const mode = Deno.statSync(path).mode;
      if (mode !== null && (mode & 0o077) !== 0) {
        Deno.chmodSync(path, 0o600);
        console.error(`hub: ${path} was readable by others; its mode is now 0600`);
      }
      return { value: text.trim(), path, created: false };
    }
  }
  const value = generateSecret();
  Deno.writeTextFileSync(path, value + "\n", { mode: 0o600 });
  Deno.chmodSync(path, 0o600);
  return { value, path, created: true };
}

/**
 * Compares a presented bearer token with the expected one in time that depends only on the
 * expected token's length (it runs on every heartbeat, so it stays allocation-free).
 */
export function secretMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  let diff = presented.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (presented.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

/** Extracts the token from an `Authorization: Bearer …` header. */
export function bearerToken(header: string | undefined | null): string | undefined {
  const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return m?.[1];
}
