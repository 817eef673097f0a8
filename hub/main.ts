/** Entry point: `deno task hub` serves the hub (simulated module unless configured). */
import { ClusterError } from "../shared/errors.ts";
import { HUB_USAGE, openReadsWarning, parseHubSettings } from "./config.ts";
import { DEFAULT_LIMITS } from "./http/limits.ts";
import { clientError } from "./http/errors.ts";
import { TcpGate } from "./http/tcp_gate.ts";
import { DEFAULT_WS_GUARD } from "./http/ws_guard.ts";
import { classifyHead } from "./http/gate_priority.ts";
import { type HubCert, loadOrCreateCert } from "./http/tls_cert.ts";
import { type FetchApp, gatedHandler, InternalServer } from "./http/internal_server.ts";
import { type Hub, openHub } from "./hub.ts";
import { installFaultPolicy } from "./process_faults.ts";

/** The base URL agents reach a listener at (a wildcard address is reached on loopback). */
function agentUrlOf(addr: Deno.NetAddr): string {
  const host = addr.hostname === "0.0.0.0" || addr.hostname === "::" ? "127.0.0.1" : addr.hostname;
  return `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
}

async function main(): Promise<number> {
  // No promise rejection and no exception from a timer ends the hub: logged, counted in
  // /metrics, and the hub goes on (docs/faults.md).
  installFaultPolicy();
  let settings;
  try {
    settings = parseHubSettings(Deno.args);
  } catch (e) {
    console.error(`hub: ${e instanceof Error ? e.message : e}\n\n${HUB_USAGE}`);
    return 2;
  }
  if (!settings) {
    console.log(HUB_USAGE);
    return 0;
  }
  // Take the port first: a hub that cannot listen must not open the hardware, create secrets
  // or touch state.
  // The HTTP server listens on an internal loopback port; the public port is the TcpGate in
  // front of it (caps, timeouts, accept failures that shed load instead of ending the hub).
  const ac = new AbortController();
  let app: FetchApp | null = null;
  let gate: TcpGate | null = null;
  // With TLS, node agents report over a second, plain listener serving the agent routes only.
  let agentGate: TcpGate | null = null;
  const limits = settings.limits ?? DEFAULT_LIMITS;
  // The certificate first (HTTPS needs it to listen): given, or self-signed on first start.
  const cert: HubCert | null = settings.tls
    ? await loadOrCreateCert({ ...settings.tls, dataDir: settings.dataDir, host: settings.host })
    : null;
  const lookup = {
    clientAddress: (p: number) => gate?.clientAddress(p) ?? agentGate?.clientAddress(p),
    agentOnly: (p: number) => agentGate?.clientAddress(p) !== undefined,
  };
  const server = new InternalServer(gatedHandler(() => gate && lookup, () => app), ac.signal);
  const listen = (hostname: string, port: number, tls: boolean) =>
    new TcpGate({
      hostname,
      port,
      upstreamPort: server.port,
      limits: limits.tcp,
      requestTimeoutMs: limits.requestTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      ws: { ...DEFAULT_WS_GUARD, messageDeadlineMs: limits.wsMessageTimeoutMs },
      ...(tls && cert ? { tls: { cert: cert.cert, key: cert.key } } : {}),
    });
  // Which listener is being opened, for an error that names it.
  let opening = `${settings.host} port ${settings.port} (--host, --port)`;
  try {
    gate = listen(settings.host, settings.port, true);
    // The virtual cluster's agents need the plain port too: on loopback when none is set.
    const agentListen = settings.agentListen ??
      (cert && settings.virtualAgents && !settings.powerConfigPath
        ? { host: "127.0.0.1", port: 0 }
        : undefined);
    opening = `${agentListen?.host} port ${agentListen?.port} (--agent-host, --agent-port)`;
    if (cert && agentListen) agentGate = listen(agentListen.host, agentListen.port, false);
  } catch (e) {
    await gate?.close();
    ac.abort();
    await server.finished();
    if (!(e instanceof Deno.errors.AddrInUse)) {
      // An address not on this machine, or a name that does not resolve.
      throw new Error(`cannot listen on ${opening}: ${e instanceof Error ? e.message : e}`);
    }
    throw new ClusterError(
      "conflict",
      `port ${settings.port} on ${settings.host} (or the agent port) is already in use (another hub?); pick another with --port`,
    );
  }
  let hub: Hub;
  try {
    const gateNow = gate;
    // The virtual cluster's agents (on the simulated module) report to the agent port.
    hub = await openHub(settings, {
      gate: () => gateNow.figures,
      agentUrl: agentUrlOf(agentGate?.addr ?? gate.addr),
    });
  } catch (e) {
    await gate.close();
    await agentGate?.close();
    ac.abort();
    await server.finished();
    throw e;
  }
  app = hub.app;
  // Reserved connection slots: for the admin token and the agents' heartbeats.
  const adminToken = hub.token.value;
  gate.setPriority((head) => classifyHead(head, adminToken));
  const { hostname, port } = gate.addr;
  console.log(
    `hub: serving ${hub.map.bays.length} nodes (${hub.status.powerDriver} module ${hub.status.module}) on ${
      cert ? "https" : "http"
    }://${hostname}:${port}`,
  );
  if (cert) {
    console.log(
      `hub: TLS certificate ${cert.fingerprint} (${
        cert.created ? "self-signed, made now" : "from"
      } ${cert.certPath})`,
    );
  }
  if (agentGate) {
    console.log(
      `hub: node agents report over plain HTTP on http://${agentGate.addr.hostname}:${agentGate.addr.port} (agent routes only)`,
    );
  }
  console.log(`hub: data in ${settings.dataDir}`);
  if (hub.token.created) {
    console.log(
      `hub: generated admin token (shown once; also in ${hub.token.path}):\n  ${hub.token.value}`,
    );
  }
  if (hub.agentKey.created) console.log(`hub: generated agent key in ${hub.agentKey.path}`);
  if (settings.readToken === "required") {
    console.log(
      `hub: reads need a token (--read-token required): the read token is in ${hub.readToken.path}` +
        (hub.readToken.created ? ` (generated now):\n  ${hub.readToken.value}` : ""),
    );
  }
  const openReads = openReadsWarning(settings);
  if (openReads) console.warn(openReads);
  if (hub.agentKeys.sharedKeyAllowed) {
    console.warn(
      "hub: warning: agents may still use the shared agent key, which speaks for any node; " +
        "give each node its own key (`cm agent-key N`, or the netboot overlay) and start the " +
        "hub with --no-shared-agent-key (docs/security.md)",
    );
  }
  const gl = gate.limits;
  console.log(
    `hub: at most ${gl.max} connections (${gl.perAddress} per address, +${gl.reserved} for the admin token and heartbeats), ` +
      `${limits.ws.max} WebSockets and ${limits.sse.max} event streams (${limits.ws.perAddress} and ${limits.sse.perAddress} per address)`,
  );
  const gateRef = gate;
  server.onPortChange((port) => {
    gateRef.retarget(port);
    agentGate?.retarget(port);
  });
  // `deno task` passes the terminal's Ctrl-C on as well, so one keypress can arrive twice:
  // only a second signal a moment later means "stop at once".
  let stoppingSince = 0;
  const stop = () => {
    const now = Date.now();
    if (stoppingSince > 0) {
      if (now - stoppingSince < 1500) return;
      console.error("hub: stopping at once (second signal)");
      Deno.exit(130);
    }
    stoppingSince = now;
    console.log(
      "hub: stopping (runs stop as on cancel, power jobs get a few seconds; signal again to stop at once)",
    );
    gateRef.stopAccepting();
    agentGate?.stopAccepting();
    // Held heartbeat replies are answered now, and written before the server stops.
    const stopServer = () => ac.abort();
    hub.heldReplies.drain().then(stopServer, stopServer);
  };
  // Listening before start(): a SIGTERM while the rails are read still stops gracefully.
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  // Only once the port is ours: read the rails, restore desired state, start netboot.
  await hub.start();
  console.log("hub: ready (rails read, desired state restored)");
  if (hub.virtual) {
    console.log(
      `hub: virtual cluster on: powered bays boot into node agents after ${settings.simBootMs} ms`,
    );
  }
  await server.finished();
  await gate.close();
  await agentGate?.close();
  await hub.close();
  console.log("hub: stopped");
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    const shown = clientError(e);
    if (shown) {
      console.error(`hub: ${shown.message}`);
      Deno.exit(1);
    }
    // Anything else (a data directory that cannot be created, an address that does not
    // resolve, …): one clear line, no stack trace.
    console.error(`hub: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
