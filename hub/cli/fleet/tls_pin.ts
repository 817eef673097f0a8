/**
 * Pinning an https hub's certificate: read the certificate the hub presents (on first use,
 * trusting it as ssh does a host key), and afterwards trust that certificate only, through a
 * `Deno.HttpClient` whose sole CA is the pinned certificate. A hub presenting another
 * certificate fails the handshake; {@link explainTlsFailure} then says whether the certificate
 * changed (and shows both fingerprints) or merely does not name the host in the URL.
 */
import * as tls from "node:tls";
import { ClusterError } from "../../../shared/errors.ts";
import { certFingerprint, derToPem } from "../../../shared/cert_pem.ts";
import type { HubEntry, PinnedCert } from "./hubs_file.ts";

/** What the hub presented in a TLS handshake. */
export interface PresentedCert extends PinnedCert {
  /** The names and addresses the certificate is valid for (`DNS:…, IP Address:…`). */
  names: string;
}

/**
 * Connects to `url`'s host and port and returns the certificate it presents, without judging
 * it (that is the point: the caller compares it with the pinned one, or pins it).
 */
export function presentedCert(url: string, timeoutMs = 5000): Promise<PresentedCert> {
  const u = new URL(url);
  const port = Number(u.port || 443);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.destroy();
      } catch { /* closed */ }
      f();
    };
    const socket = tls.connect(
      {
        host,
        port,
        rejectUnauthorized: false,
        ...(/^[0-9.:]+$/.test(host) ? {} : { servername: host }),
      },
      () => {
        const pc = socket.getPeerCertificate(false);
        const raw = pc?.raw as Uint8Array | undefined;
        if (!raw || raw.length === 0) {
          return finish(() => reject(new Error("the hub presented no certificate")));
        }
        const der = new Uint8Array(raw);
        certFingerprint(der).then(
          (fingerprint) =>
            finish(() =>
              resolve({ fingerprint, cert: derToPem(der), names: pc.subjectaltname ?? "" })
            ),
          (e) => finish(() => reject(e)),
        );
      },
    );
    socket.on("error", (e: Error) => finish(() => reject(e)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no TLS handshake within ${timeoutMs} ms`))),
      timeoutMs,
    );
  });
}

/** An HTTP client that trusts the pinned certificate and nothing else. */
export function pinnedHttpClient(pin: PinnedCert): Deno.HttpClient {
  return Deno.createHttpClient({ caCerts: [pin.cert] });
}

/**
 * Why a request to a pinned hub failed, when TLS is the cause: the certificate changed (both
 * fingerprints, and what to do), or it is still the pinned one but does not name the URL's host.
 * Returns undefined when the hub presents the pinned certificate and names the host (the
 * failure was something else) or cannot be reached at all.
 */
export async function explainTlsFailure(hub: HubEntry): Promise<ClusterError | undefined> {
  if (!hub.tls) return undefined;
  let now: PresentedCert;
  try {
    now = await presentedCert(hub.url);
  } catch {
    return undefined;
  }
  if (now.fingerprint !== hub.tls.fingerprint) {
    return new ClusterError(
      "forbidden",
      `hub ${hub.name} (${hub.url}) presents a different TLS certificate than the one pinned on first use:\n` +
        `  pinned:   ${hub.tls.fingerprint}\n  now:      ${now.fingerprint}\n` +
        `refusing to send the token. If the hub's certificate was replaced on purpose, compare the new ` +
        `fingerprint with the one the hub prints at start, then run: cm hubs trust ${hub.name}`,
    );
  }
  const host = new URL(hub.url).hostname;
  return new ClusterError(
    "forbidden",
    `hub ${hub.name}'s certificate is the pinned one but does not name "${host}" (it names ${
      now.names || "nothing"
    }); use one of those in the URL, or start the hub with --tls-name ${host}`,
  );
}
