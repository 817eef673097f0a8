/**
 * From hubs-file entries to API clients: the token read from each hub's token file, an https
 * hub's certificate pinned on first use (saved to the hubs file) and trusted alone afterwards.
 */
import { ClusterError } from "../../../shared/errors.ts";
import { ApiClient } from "../api_client.ts";
import { type HubEntry, type HubsFile, saveHubsFile } from "./hubs_file.ts";
import { explainTlsFailure, pinnedHttpClient, presentedCert } from "./tls_pin.ts";

/** Reads a hub's token file; undefined (reads only) when it has none. */
export function hubToken(hub: HubEntry): string | undefined {
  if (!hub.tokenFile) return undefined;
  try {
    return Deno.readTextFileSync(hub.tokenFile).trim() || undefined;
  } catch (e) {
    throw new ClusterError(
      "unauthorized",
      `cannot read hub ${hub.name}'s token file ${hub.tokenFile} (${
        e instanceof Error ? e.message : e
      })`,
    );
  }
}

/**
 * Pins the certificate of every https hub among `hubs` that has none yet (in parallel), and
 * saves the hubs file once if any was pinned. A hub that cannot be reached stays unpinned (its
 * call then fails with the reason). Says on stderr what was pinned: compare the fingerprint
 * with the one the hub printed at start.
 */
export async function pinFirstUse(
  file: HubsFile,
  hubs: readonly HubEntry[],
  path: string,
  err: (line: string) => void,
  timeoutMs = 5000,
): Promise<void> {
  const fresh = hubs.filter((h) => h.url.startsWith("https:") && !h.tls);
  if (fresh.length === 0) return;
  const got = await Promise.all(
    fresh.map((h) => presentedCert(h.url, timeoutMs).catch(() => null)),
  );
  let changed = false;
  fresh.forEach((h, i) => {
    const c = got[i];
    if (!c) return;
    h.tls = { fingerprint: c.fingerprint, cert: c.cert };
    changed = true;
    err(`cm: pinned hub ${h.name}'s certificate ${c.fingerprint} (first use; saved in ${path})`);
  });
  if (changed) saveHubsFile(path, file);
}

/** The API client of one hub. */
export function hubClient(hub: HubEntry, timeoutMs?: number): ApiClient {
  if (hub.url.startsWith("https:") && !hub.tls) {
    throw new ClusterError(
      "not_ready",
      `hub ${hub.name} (${hub.url}) could not be reached to pin its certificate`,
    );
  }
  return new ApiClient({
    baseUrl: hub.url,
    token: hubToken(hub),
    timeoutMs,
    label: hub.name,
    ...(hub.tls
      ? { httpClient: pinnedHttpClient(hub.tls), explainFailure: () => explainTlsFailure(hub) }
      : {}),
  });
}
