/**
 * HTTPS on the hub (REST, SSE, WebSocket) with its self-signed certificate, checked with real
 * clients (curl --cacert, Python's ssl), the plain agent port, and cm pinning the certificate
 * on first use and refusing a changed one.
 */
import assert from "node:assert/strict";
import { runCli } from "../../hub/cli/main.ts";
import { parseHubSettings } from "../../hub/config.ts";
import { freePort, requirePrograms, run, startHubProcess } from "./fleet_support.ts";

/** A Python ssl client: GET a path, or a WebSocket upgrade, verifying against CAFILE. */
const PYTHON_CLIENT = `
import socket, ssl, sys, base64, os
port, cafile, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            if mode == "ws":
                key = base64.b64encode(os.urandom(16)).decode()
                s.sendall(("GET /api/v1/ws HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\n"
                           "Connection: Upgrade\\r\\nSec-WebSocket-Key: " + key + "\\r\\n"
                           "Sec-WebSocket-Version: 13\\r\\n\\r\\n").encode())
            else:
                s.sendall(b"GET /api/v1/module HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while b"\\r\\n\\r\\n" not in data or (mode != "ws" and not data.endswith(b"}")):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            print(data.decode(errors="replace"))
except ssl.SSLCertVerificationError as e:
    print("VERIFY FAILED:", e.verify_message)
    sys.exit(3)
`;

async function cm(hubsFile: string, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const env = (n: string) => ({ CM_HUBS: hubsFile } as Record<string, string>)[n];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("HTTPS hub: curl and Python verify its certificate (REST, SSE, WebSocket); cm pins it and refuses a changed one", async () => {
  const progs = requirePrograms(["openssl", "curl", "python3"]);
  if (!progs) return;
  const dir = await Deno.makeTempDir({ prefix: "cm-fleet-tls-" });
  const port = freePort();
  const args = ["--port", String(port), "--module", "tls-1", "--tls", "--agent-port", "0"];
  let hub = await startHubProcess(`${dir}/data`, args);
  try {
    assert.equal(hub.url, `https://127.0.0.1:${port}`);
    const printed =
      (await hub.waitFor(/TLS certificate (SHA256:[0-9A-F:]+) \(self-signed, made now/))[1];
    const certFile = `${dir}/data/tls/cert.pem`;
    assert.equal((Deno.statSync(`${dir}/data/tls/key.pem`).mode ?? 0) & 0o777, 0o600);
    const ossl = await run(progs.openssl, [
      "x509",
      "-in",
      certFile,
      "-noout",
      "-fingerprint",
      "-sha256",
    ]);
    assert.equal(`SHA256:${ossl.stdout.trim().split("=")[1]}`, printed);
    const agentUrl = (await hub.waitFor(/plain HTTP on (http:\/\/[^\s]+)/))[1];

    // curl: REST with the certificate, refused without it; SSE over HTTPS.
    let r = await run(progs.curl, ["-sS", "--cacert", certFile, `${hub.url}/api/v1/module`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).module, "tls-1");
    r = await run(progs.curl, ["-sS", `${hub.url}/api/v1/module`]);
    assert.equal(r.code, 60, "curl without the certificate must refuse it");
    r = await run(progs.curl, ["-sS", "http://127.0.0.1:" + port + "/api/v1/module", "-m", "3"]);
    assert.notEqual(r.code, 0, "plain HTTP on the HTTPS port is not served");
    r = await run(progs.curl, [
      "-sS",
      "-N",
      "-m",
      "3",
      "--cacert",
      certFile,
      "-X",
      "POST",
      "-H",
      "authorization: Bearer T",
      "-H",
      "content-type: application/json",
      "-d",
      '{"state":"on"}',
      `${hub.url}/api/v1/nodes/4/power`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(progs.curl, [
      "-sS",
      "-N",
      "-m",
      "2",
      "--cacert",
      certFile,
      `${hub.url}/api/v1/events?after=0`,
    ]);
    assert.match(r.stdout, /id: \d+\nevent: power_changed\ndata: \{[^\n]*"module":"tls-1"/);

    // Python's ssl: REST and the WebSocket upgrade, verified against the certificate.
    r = await run(progs.python3, ["-c", PYTHON_CLIENT, String(port), certFile, "get"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200/);
    assert.match(r.stdout, /"module":"tls-1"/);
    r = await run(progs.python3, ["-c", PYTHON_CLIENT, String(port), certFile, "ws"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 101 Switching Protocols/);

    // The plain agent port serves the agent routes only.
    r = await run(progs.curl, ["-sS", `${agentUrl}/api/v1/module`]);
    assert.match(r.stdout, /"code":"forbidden".*agents only/);
    r = await run(progs.curl, [
      "-sS",
      "-X",
      "POST",
      "-H",
      "authorization: Bearer K",
      "-H",
      "content-type: application/json",
      "-d",
      "{}",
      `${agentUrl}/api/v1/agent/heartbeat`,
    ]);
    assert.match(r.stdout, /"code":"invalid_body"/, "the heartbeat route answered (a bad body)");

    // cm: pinned on first use, then HTTPS with the pin.
    const hubsFile = `${dir}/hubs.json`;
    await Deno.writeTextFile(`${dir}/token`, "T\n");
    let c = await cm(hubsFile, ["hubs", "add", "h1", hub.url, "--token-file", `${dir}/token`]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.err, new RegExp(`pinned hub h1's certificate ${printed}`));
    const saved = JSON.parse(await Deno.readTextFile(hubsFile)).hubs[0];
    assert.equal(saved.tls.fingerprint, printed);
    assert.equal(saved.module, "tls-1");
    c = await cm(hubsFile, ["-A", "status"]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /== h1 · module tls-1 · https:\/\/127\.0\.0\.1:\d+/);
    assert.match(c.out, /^ +4 +1 +4 node04 .* on /m);

    // A new certificate on the same address: refused, with both fingerprints.
    await hub.stop();
    await Deno.remove(`${dir}/data/tls`, { recursive: true });
    hub = await startHubProcess(`${dir}/data`, args);
    const fresh = (await hub.waitFor(/TLS certificate (SHA256:[0-9A-F:]+)/))[1];
    assert.notEqual(fresh, printed);
    c = await cm(hubsFile, ["-A", "status"]);
    assert.equal(c.code, 1);
    assert.match(c.out, /DOWN: hub h1 .* presents a different TLS certificate/);
    assert.ok(
      c.out.includes(`pinned:   ${printed}`) && c.out.includes(`now:      ${fresh}`),
      c.out,
    );
    c = await cm(hubsFile, ["--hub", "h1", "power", "5", "on"]);
    assert.equal(c.code, 1);
    assert.match(c.err, /refusing to send the token.*cm hubs trust h1/s);
    // curl and Python with the old certificate refuse the new one too.
    await Deno.writeTextFile(`${dir}/old.pem`, saved.tls.cert);
    r = await run(progs.curl, ["-sS", "--cacert", `${dir}/old.pem`, `${hub.url}/api/v1/module`]);
    assert.equal(r.code, 60, r.stderr);
    r = await run(progs.python3, ["-c", PYTHON_CLIENT, String(port), `${dir}/old.pem`, "get"]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /VERIFY FAILED/);
    // Trusting the new one on purpose.
    c = await cm(hubsFile, ["hubs", "trust", "h1"]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, new RegExp(`pinned ${fresh} \\(was ${printed}\\)`));
    c = await cm(hubsFile, ["--hub", "h1", "power", "5", "on"]);
    assert.equal(c.code, 0, c.err);
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TLS settings: cert and key together, the agent port only beside HTTPS", () => {
  const p = (argv: string[]) => parseHubSettings(argv, () => undefined);
  assert.deepEqual(p(["--tls"])?.tls, { names: [] });
  assert.deepEqual(p(["--tls-cert", "c.pem", "--tls-key", "k.pem"])?.tls, {
    certPath: "c.pem",
    keyPath: "k.pem",
    names: [],
  });
  assert.deepEqual(p(["--tls", "--tls-name", "hub-row1,10.1.2.3"])?.tls?.names, [
    "hub-row1",
    "10.1.2.3",
  ]);
  assert.deepEqual(p(["--tls", "--agent-port", "4243", "--host", "0.0.0.0"])?.agentListen, {
    host: "0.0.0.0",
    port: 4243,
  });
  assert.equal(p([])?.tls, undefined);
  assert.throws(() => p(["--tls-cert", "c.pem"]), /--tls-cert and --tls-key go together/);
  assert.throws(() => p(["--agent-port", "4243"]), /give --tls or --tls-cert too/);
  assert.throws(() => p(["--tls", "--tls-name", "a b"]), /not a host name/);
});
