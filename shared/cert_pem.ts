/**
 * X.509 certificates as the hub prints them and `cm` pins them: PEM ⇄ DER, and the SHA-256
 * fingerprint written `SHA256:AB:CD:…` (the colon-separated hex `openssl x509 -fingerprint
 * -sha256` prints).
 */

/** `SHA256:AB:CD:…` of a DER certificate. */
export async function certFingerprint(der: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", der as Uint8Array<ArrayBuffer>),
  );
  return "SHA256:" +
    [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/** PEM text of a DER certificate. */
export function derToPem(der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** DER bytes of the first certificate in a PEM text, or null when there is none. */
export function pemToDer(pem: string): Uint8Array | null {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) return null;
  try {
    const bin = atob(m[1].replace(/\s+/g, ""));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
