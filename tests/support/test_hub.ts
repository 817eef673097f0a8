/** Builds hubs for tests: a temp data dir, in-process app, optionally served on loopback. */
import type { HubSettings } from "../../hub/config.ts";
import { createHub, type Hub, type HubOverrides } from "../../hub/hub.ts";

/** Settings for a test hub in `dataDir`. */
export function testSettings(dataDir: string, over: Partial<HubSettings> = {}): HubSettings {
  return {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    nodeCount: 60,
    token: "test-admin-token",
    agentKey: "test-agent-key",
    lostAfterMs: 3000,
    heartbeatIntervalMs: 1000,
    virtualAgents: false,
    simBootMs: 0,
    ...over,
  };
}

/** A hub built and started in a fresh temp dir. */
export interface TestHub {
  hub: Hub;
  dataDir: string;
  /** `app.request` with the admin token unless `auth: false`. */
  call(
    method: string,
    path: string,
    body?: unknown,
    opts?: { auth?: string | false; raw?: string },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** Builds and starts a hub (not served). Pass `dataDir` to reopen an existing one. */
export async function startTestHub(
  opts: { dataDir?: string; settings?: Partial<HubSettings>; overrides?: HubOverrides } = {},
): Promise<TestHub> {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "cm-hub-test-" });
  const hub = createHub(testSettings(dataDir, opts.settings), {
    sequencer: { stepMs: 5, cycleOffMs: 20 },
    ...opts.overrides,
  });
  await hub.start();
  return {
    hub,
    dataDir,
    call(method, path, body, o = {}) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      const auth = o.auth === undefined ? hub.token.value : o.auth;
      if (auth !== false) headers.authorization = `Bearer ${auth}`;
      return Promise.resolve(hub.app.request(path, {
        method,
        headers,
        body: o.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      }));
    },
    close: () => hub.close(),
  };
}

/** A test hub served on a random loopback port. */
export interface ServedHub extends TestHub {
  url: string;
  stopServing(): Promise<void>;
}

/** Starts a hub and serves it on 127.0.0.1 with a random port. */
export async function serveTestHub(
  opts: Parameters<typeof startTestHub>[0] = {},
): Promise<ServedHub> {
  const t = await startTestHub(opts);
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req, info) => t.hub.app.fetch(req, info),
  );
  const stopServing = async () => {
    ac.abort();
    await server.finished;
  };
  return {
    ...t,
    url: `http://127.0.0.1:${server.addr.port}`,
    stopServing,
    async close() {
      await stopServing();
      await t.close();
    },
  };
}

/** Serves a hub (as {@link serveTestHub}) for `fn`, then closes it and removes its data dir. */
export async function withServedHub(
  opts: Parameters<typeof startTestHub>[0],
  fn: (t: ServedHub) => Promise<void>,
): Promise<void> {
  const t = await serveTestHub(opts);
  try {
    await fn(t);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}

/** Starts a hub (as {@link startTestHub}) for `fn`, then closes it and removes its data dir. */
export async function withTestHub(
  opts: Parameters<typeof startTestHub>[0],
  fn: (t: TestHub) => Promise<void>,
): Promise<void> {
  const t = await startTestHub(opts);
  try {
    await fn(t);
  } finally {
    await t.close();
    await Deno.remove(t.dataDir, { recursive: true });
  }
}
