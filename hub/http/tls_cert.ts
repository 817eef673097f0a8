/**
 * The hub's TLS certificate: the one it is given (`--tls-cert`/`--tls-key`), or a self-signed
 * one made with openssl on first start and kept in the data directory (`tls/cert.pem`,
 * `tls/key.pem`, mode 0600), as Turing Pi's BMC does. Its SHA-256 fingerprint is printed at
 * every start: `cm` pins it on first use, and a person compares the two.
 */
import { join } from "node:path";
import { certFingerprint, pemToDer } from "../../shared/cert_pem.ts";
import { ClusterError } from "../../shared/errors.ts";

/** The certificate and key the hub serves with. */
export interface HubCert {
  cert: string;
  key: string;
  /** `SHA256:AB:…` */
  fingerprint: string;
  certPath: string;
  /** True when it was made just now. */
  created: boolean;
}

/** Where the certificate comes from. */
export interface TlsSource {
  /** Given files; else a self-signed certificate in `dataDir/tls/`. */
  certPath?: string;
  keyPath?: string;
  dataDir: string;
  /** Names and addresses the self-signed certificate is valid for, besides the defaults. */
  names?: string[];
  /** The listen address (named in the certificate when it is a specific one). */
  host?: string;
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/;

/**
 * The subjectAltName of a self-signed hub certificate: localhost and the loopback addresses,
 * the machine's host name (and `.local`), the listen address, every address of its interfaces,
 * and the names given.
 */
export function subjectAltNames(
  opts: { hostname: string; host?: string; interfaces: string[]; names: string[] },
): string {
  const all = new Set<string>(["localhost", opts.hostname, `${opts.hostname}.local`]);
  for (const a of ["127.0.0.1", "::1", ...opts.interfaces, ...opts.names]) all.add(a);
  if (opts.host && opts.host !== "0.0.0.0" && opts.host !== "::") all.add(opts.host);
  return [...all].filter((n) => n !== "").map((n) => IP.test(n) ? `IP:${n}` : `DNS:${n}`).join(
    ",",
  );
}

function interfaceAddresses(): string[] {
  try {
    return Deno.networkInterfaces().map((i) => i.address.replace(/%.*$/, ""));
  } catch {
    return [];
  }
}

async function makeSelfSigned(dir: string, certPath: string, keyPath: string, san: string) {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let out;
  try {
    out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=cluster-hub",
        "-addext",
        `subjectAltName=${san}`,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        keyPath,
        "-out",
        certPath,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new ClusterError(
      "not_ready",
      `cannot make a self-signed certificate: openssl is not available (${
        e instanceof Error ? e.message : e
      }); install it (apt-get install openssl) or give --tls-cert and --tls-key`,
    );
  }
  if (!out.success) {
    throw new ClusterError(
      "internal",
      `openssl could not make a certificate: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  Deno.chmodSync(keyPath, 0o600);
}

/** Loads the given certificate, or the self-signed one (made on first start). */
export async function loadOrCreateCert(src: TlsSource): Promise<HubCert> {
  if ((src.certPath === undefined) !== (src.keyPath === undefined)) {
    throw new ClusterError("bad_request", "--tls-cert and --tls-key go together");
  }
  const dir = join(src.dataDir, "tls");
  const certPath = src.certPath ?? join(dir, "cert.pem");
  const keyPath = src.keyPath ?? join(dir, "key.pem");
  let created = false;
  if (src.certPath === undefined) {
    try {
      Deno.statSync(certPath);
    } catch {
      const san = subjectAltNames({
        hostname: Deno.hostname(),
        host: src.host,
        interfaces: interfaceAddresses(),
        names: src.names ?? [],
      });
      await makeSelfSigned(dir, certPath, keyPath, san);
      created = true;
    }
  }
  let cert: string, key: string;
  try {
    cert = Deno.readTextFileSync(certPath);
    key = Deno.readTextFileSync(keyPath);
  } catch (e) {
    throw new ClusterError(
      "bad_request",
      `cannot read the TLS certificate or key (${e instanceof Error ? e.message : e})`,
    );
  }
  const der = pemToDer(cert);
  if (!der) throw new ClusterError("bad_request", `${certPath} holds no PEM certificate`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new ClusterError("bad_request", `${keyPath} holds no PEM private key`);
  }
  return { cert, key, fingerprint: await certFingerprint(der), certPath, created };
}
