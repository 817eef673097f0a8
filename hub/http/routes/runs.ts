/** Module-wide runs: self test, active test, bootstrap, and which bays take part. */
import { z } from "zod";
import {
  ActiveTestCommand,
  BootstrapCommand,
  BootstrapPlan,
  EnableCommand,
  Job,
  NodeSetBody,
} from "../../../shared/schemas.ts";
import { ClusterError } from "../../../shared/errors.ts";
import type { Preflight } from "../../preflight/preflight.ts";
import type { NodeSettings } from "../../cluster/node_settings.ts";
import type { NodeStatusReader } from "../../cluster/node_status.ts";
import type { BootstrapRunner } from "../../cluster/runs/bootstrap_runner.ts";
import type { Runs } from "../../cluster/runs/runs.ts";
import { route, type RouteSpec } from "../route.ts";

/** Default time `activetest` waits for heartbeats. */
export const DEFAULT_ACTIVE_TEST_TIMEOUT_MS = 120_000;

/** Stored bootstrap state as `GET /api/v1/bootstrap` shows it. */
const BootstrapStatus = z.object({ state: z.unknown().nullable(), timings: z.unknown() });

/** The run route specs. Each run answers 202 with its job; follow it at /api/v1/jobs/:id. */
export function runRoutes(deps: {
  status: NodeStatusReader;
  settings: NodeSettings;
  runs: Runs;
  bootstrap: BootstrapRunner;
  /** Run before every bootstrap; a failed check refuses it (unless skipPreflight). */
  preflight: Preflight;
}): RouteSpec[] {
  const { status, settings, runs, bootstrap, preflight } = deps;
  const accepted = (c: Parameters<RouteSpec["handler"]>[0], job: Job) => {
    c.header("Location", `/api/v1/jobs/${job.id}`);
    return c.json(job, 202);
  };
  return [
    route({
      method: "post",
      path: "/testall",
      summary:
        "Control-plane self test: every node on in rapid sequence, then off; rails read back",
      auth: "admin",
      body: NodeSetBody,
      bodyOptional: true,
      response: Job,
      status: 202,
      errors: ["invalid_range", "conflict", "not_ready"],
      handler: (c, body) => accepted(c, runs.testall(status.targetNodes(body.nodes))),
    }),
    route({
      method: "post",
      path: "/activetest",
      summary: "Power nodes on and time each agent's first heartbeat",
      auth: "admin",
      body: ActiveTestCommand,
      bodyOptional: true,
      response: Job,
      status: 202,
      errors: ["invalid_range", "conflict", "not_ready"],
      handler: (c, body) =>
        accepted(
          c,
          runs.activetest(
            status.targetNodes(body.nodes),
            body.timeoutMs ?? DEFAULT_ACTIVE_TEST_TIMEOUT_MS,
          ),
        ),
    }),
    route({
      method: "post",
      path: "/bootstrap",
      summary:
        "Staged bootstrap of a set (default: the enabled bays): preflight, the set off (othersOff: every bay), self test, boot (supervised), wait for heartbeats; bays outside the set are untouched",
      auth: "admin",
      body: BootstrapCommand,
      bodyOptional: true,
      response: Job,
      status: 202,
      errors: ["invalid_range", "conflict", "not_ready"],
      handler: async (c, body) => {
        const nodes = status.targetNodes(body.nodes);
        const report = await preflight.run();
        if (!report.ok && !body.skipPreflight) {
          throw new ClusterError(
            "not_ready",
            `${report.summary}; fix it (cm preflight shows how) or bootstrap with --skip-preflight`,
            report,
          );
        }
        return accepted(c, bootstrap.start(nodes, body.othersOff ?? false));
      },
    }),
    route({
      method: "post",
      path: "/bootstrap/plan",
      summary:
        "Dry run of a bootstrap: the nodes it tests and boots, the bays it switches off and those it leaves untouched, and its expected timeline; nothing is switched",
      auth: "admin",
      body: BootstrapCommand,
      bodyOptional: true,
      response: BootstrapPlan,
      errors: ["invalid_range"],
      handler: (c, body) =>
        c.json(bootstrap.plan(status.targetNodes(body.nodes), body.othersOff ?? false)),
    }),
    route({
      method: "get",
      path: "/bootstrap",
      summary: "The last bootstrap's stored state and the timings in force",
      auth: "read",
      response: BootstrapStatus,
      handler: (c) => c.json({ state: bootstrap.state(), timings: bootstrap.timings }),
    }),
    route({
      method: "post",
      path: "/enabled",
      summary:
        'Include or exclude bays from bootstrap and default runs, e.g. {"nodes":"17-22,24-29","enabled":false}',
      auth: "admin",
      body: EnableCommand,
      errors: ["invalid_range"],
      response: z.object({ enabled: z.array(z.number()), disabled: z.array(z.number()) }),
      handler: (c, body) => {
        settings.setEnabled(status.nodeSet(body.nodes), body.enabled);
        const nodes = status.nodes();
        return c.json({
          enabled: nodes.filter((n) => n.enabled).map((n) => n.id),
          disabled: nodes.filter((n) => !n.enabled).map((n) => n.id),
        });
      },
    }),
  ];
}
