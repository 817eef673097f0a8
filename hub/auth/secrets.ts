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

/** Uses `given` if set, else reads `path`, else creates it (mode 0600). */
export function loadOrCreateSecret(path: string, given?: string): LoadedSecret {
  if (given && given.trim() !== "") return { value: given.trim(), path: null, created: false };
  try {
    const value = Deno.readTextFileSync(path).trim();
    if (value !== "") {
      // A secret file someone wrote by hand may be readable by others: make it owner-only.
      const mode = Deno.statSync(path).mode;
      if (mode !== null && (mode & 0o077) !== 0) {
        Deno.chmodSync(path, 0o600);
        console.error(`hub: ${path} was readable by others; its mode is now 0600`);
      }
      return { value, path, created: false };
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
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
