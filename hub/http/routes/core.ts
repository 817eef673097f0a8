/** The core REST routes: module, nodes, power, LED, agent heartbeat, jobs. */
import type { Context } from "hono";
import { getConnInfo } from "hono/deno";
import { z } from "zod";
import { ClusterError, isErrorCode } from "../../../shared/errors.ts";
import {
  BulkPowerCommand,
  Heartbeat,
  HeartbeatReply,
  Job,
  LedCommand,
  Lifecycle,
  ModuleInfo,
  NodeStatus,
  PowerCommand,
  PowerPlan,
  PowerState,
} from "../../../shared/schemas.ts";
import type { Clock } from "../../../shared/clock.ts";
import type { AgentIngest } from "../../cluster/agent_ingest.ts";
import type { HeldReplies } from "../../cluster/held_replies.ts";
import type { BootRecovery } from "../../cluster/boot_recovery.ts";
import type { NodeSettings } from "../../cluster/node_settings.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import type { PowerControl } from "../../cluster/power_control.ts";
import type { JobRunner } from "../../jobs/job_runner.ts";
import type { StoreHealth } from "../../store/store.ts";
import { route, type RouteSpec } from "../route.ts";

/** `GET /api/v1/health` body. */
export const Health = z.strictObject({
  /** `degraded`: the hub runs but cannot record changes (see `store`). */
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  uptimeSeconds: z.number(),
  nodes: z.number().int(),
  powerDriver: z.string(),
  /** Whether the store takes writes; degraded while its data directory is full. */
  store: z.strictObject({
    state: z.enum(["ok", "degraded"]),
    dataDir: z.string(),
    since: z.number().optional(),
    message: z.string().optional(),
  }),
});

/** Whether the caller asked not to wait (`?wait=false`). */
function wantsWait(c: Context): boolean {
  const w = c.req.query("wait");
  if (w === undefined || w === "true" || w === "1") return true;
  if (w === "false" || w === "0") return false;
  throw new ClusterError("bad_request", `wait must be true or false, not "${w}"`);
}

/**
 * Answers a started job: by default waits for it and returns it (200), or the job's
 * fault as a 502; with `?wait=false` returns 202 at once with a Location to poll.
 */
async function answerJob(c: Context, jobs: JobRunner, start: () => Job): Promise<Response> {
  const wait = wantsWait(c);
  const job = start();
  c.header("Location", `/api/v1/jobs/${job.id}`);
  if (!wait) return c.json(job, 202);
  const done = await jobs.wait(job.id);
  if (done.state === "failed") {
    const code = isErrorCode(done.errorCode) ? done.errorCode : "internal";
    throw new ClusterError(code, done.error ?? "power operation failed", done);
  }
  return c.json(done, 200);
}

/**
 * The values of a filter query parameter (`?lifecycle=running,booting`), each checked against
 * `allowed`; undefined when the parameter is absent. An unknown value is a 400 naming the
 * allowed ones, never silently matched to nothing.
 */
function filterValues<T extends string>(
  c: Context,
  name: string,
  allowed: readonly T[],
): Set<T> | undefined {
  const given = c.req.queries(name);
  if (!given) return undefined;
  const values = given.flatMap((v) => v.split(",")).map((v) => v.trim());
  const bad = values.filter((v) => !(allowed as readonly string[]).includes(v));
  if (bad.length || values.length === 0) {
    throw new ClusterError(
      "bad_request",
      `${name} must be one or more of ${allowed.join(", ")} (comma separated), not "${
        bad[0] ?? ""
      }"`,
    );
  }
  return new Set(values as T[]);
}

/** Settles once the answer is written (Deno.serve's `completed`), where the server tells. */
function deliveredOf(c: Context): Promise<unknown> | undefined {
  const completed = (c.env as { completed?: unknown } | undefined)?.completed;
  return completed instanceof Promise ? completed : undefined;
}

/** The services the core routes call. */
export interface CoreRouteDeps {
  status: NodeStatusReader;
  power: PowerControl;
  settings: NodeSettings;
  ingest: AgentIngest;
  jobs: JobRunner;
  clock: Clock;
  /** Boot supervision of a manual switch-on (`"supervise": true`). */
  recovery: BootRecovery;
  /** Whether the store takes writes (for /health). */
  storeHealth: () => StoreHealth;
  /** Held heartbeat replies (`holdMs`). */
  held: HeldReplies;
}

/** The core route specs, bound to their services. */
export function coreRoutes(deps: CoreRouteDeps, version: string, startedAt: number): RouteSpec[] {
  const { status, power, settings, ingest, jobs, clock, recovery, storeHealth, held } = deps;
  /** Starts the power job; with `supervise`, the boots it starts are supervised. */
  const switchNodes = (
    ids: number[],
    body: { state: PowerCommand["state"]; supervise?: boolean },
  ) => {
    const job = power.power(ids, body.state);
    if (body.supervise && body.state !== "off") recovery.superviseAfter(job);
    return job;
  };
  const nodeParam = (c: Context) => status.nodeId(c.req.param("id") ?? "");
  return [
    route({
      method: "get",
      path: "/health",
      summary: "Liveness and basic facts",
      auth: "public",
      response: Health,
      handler: (c) => {
        const store = storeHealth();
        return c.json({
          status: store.state,
          version,
          uptimeSeconds: Math.round((clock.now() - startedAt) / 1000),
          nodes: status.nodeCount,
          powerDriver: status.powerDriver,
          store,
        });
      },
    }),
    route({
      method: "get",
      path: "/module",
      summary: "The module: asset tag, geometry, subnet, switch and hub",
      auth: "read",
      response: ModuleInfo,
      handler: (c) => c.json(status.moduleInfo()),
    }),
    route({
      method: "get",
      path: "/nodes",
      summary: "Status of every bay, or of those with a given lifecycle or power",
      auth: "read",
      response: z.array(NodeStatus),
      query: {
        lifecycle: `only bays in these lifecycle states, comma separated (${
          Lifecycle.options.join(", ")
        })`,
        power: "only bays whose rail is on or off (actual power)",
      },
      handler: (c) => {
        const lifecycle = filterValues(c, "lifecycle", Lifecycle.options);
        const power = filterValues(c, "power", PowerState.options);
        return c.json(
          status.nodes().filter((n) =>
            (!lifecycle || lifecycle.has(n.lifecycle)) && (!power || power.has(n.power.actual))
          ),
        );
      },
    }),
    route({
      method: "get",
      path: "/nodes/:id",
      summary: "Status of one bay",
      auth: "read",
      response: NodeStatus,
      errors: ["invalid_range"],
      handler: (c) => c.json(status.node(nodeParam(c))),
    }),
    route({
      method: "post",
      path: "/nodes/:id/power",
      summary: "Switch one node on, off or cycle it (waits unless ?wait=false)",
      auth: "admin",
      body: PowerCommand,
      response: Job,
      query: { wait: "false: answer 202 at once with the job to poll" },
      otherStatus: { 202: "?wait=false: the job, started; poll its Location" },
      errors: ["invalid_range", "conflict", "cancelled", "hardware_fault", "not_ready"],
      handler: (c, body) => answerJob(c, jobs, () => switchNodes([nodeParam(c)], body)),
    }),
    route({
      method: "post",
      path: "/power",
      summary: 'Switch a node set, e.g. {"state":"on","nodes":"1-16,23,30-60"}, staggered per bus',
      auth: "admin",
      body: BulkPowerCommand,
      response: Job,
      query: { wait: "false: answer 202 at once with the job to poll" },
      otherStatus: { 202: "?wait=false: the job, started; poll its Location" },
      errors: ["invalid_range", "conflict", "cancelled", "hardware_fault", "not_ready"],
      handler: (c, body) => answerJob(c, jobs, () => switchNodes(status.nodeSet(body.nodes), body)),
    }),
    route({
      method: "post",
      path: "/power/plan",
      summary:
        "Dry run of POST /power: which nodes would switch in which inrush window; nothing is switched",
      auth: "admin",
      body: BulkPowerCommand,
      response: PowerPlan,
      errors: ["invalid_range", "conflict"],
      handler: (c, body) => c.json(power.plan(status.nodeSet(body.nodes), body.state)),
    }),
    route({
      method: "post",
      path: "/nodes/:id/led",
      summary: "Set the bay LED mode (debugled): identify, heartbeat, on, off",
      auth: "admin",
      body: LedCommand,
      response: NodeStatus,
      errors: ["invalid_range"],
      handler: (c, body) => c.json(settings.setLed(nodeParam(c), body.mode)),
    }),
    route({
      method: "post",
      path: "/agent/heartbeat",
      summary:
        "Node agent heartbeat (the node's own agent key); the reply carries commands for the node " +
        "(held up to `holdMs` until they change)",
      auth: "agent",
      body: Heartbeat,
      response: HeartbeatReply,
      errors: ["invalid_node", "forbidden"],
      handler: async (c, body) => {
        // The peer address is looked up when ingest needs it (it checks it on every heartbeat
        // that is not the admin's). A request made in-process (app.request) has no connection.
        const peer = () =>
          (c.env as { remoteAddr?: unknown } | undefined)?.remoteAddr
            ? getConnInfo(c).remote.address
            : undefined;
        const reply = ingest.heartbeat(body, peer, c.get("agentCredential"));
        if (!body.holdMs) return c.json(reply);
        // Ingested already: only the answer waits (held_replies.ts).
        const holdStart = performance.now();
        const answer = await held.hold(
          reply.node,
          body.led,
          body.holdMs,
          () => ingest.replyFor(reply.node),
          { signal: c.req.raw.signal, delivered: deliveredOf(c) },
        );
        c.set("heldMs", performance.now() - holdStart); // not the hub's work (request metrics)
        return c.json(answer.reply);
      },
    }),
    route({
      method: "get",
      path: "/jobs",
      summary: "Recent jobs, newest first",
      auth: "read",
      response: z.array(Job),
      handler: (c) => c.json(jobs.list()),
    }),
    route({
      method: "get",
      path: "/jobs/:id",
      summary: "One job with its progress and result",
      auth: "read",
      response: Job,
      errors: ["not_found"],
      handler: (c) => c.json(jobs.get(c.req.param("id") ?? "")),
    }),
    route({
      method: "post",
      path: "/jobs/:id/cancel",
      summary: "Ask a running job to stop at its next safe point (202; poll the job)",
      auth: "admin",
      response: Job,
      status: 202,
      errors: ["not_found", "conflict"],
      handler: (c) => c.json(jobs.cancel(c.req.param("id") ?? ""), 202),
    }),
  ];
}
