/**
 * Messages of the netboot routes (`/api/v1/services`, `/netboot/*`, `/macs`,
 * `/nodes/:id/reset`): one zod definition each, strict like those in `schemas.ts`.
 */
import { z } from "zod";
import { NodeId } from "./schemas.ts";

/** `POST /netboot/render`: `write` also writes the files (dry dir, or live paths on a hub). */
export const RenderRequest = z.strictObject({ write: z.boolean().default(false) });
export type RenderRequest = z.infer<typeof RenderRequest>;

/** `POST /nodes/:id/reset`: `force` resets even while the node is powered on. */
export const ResetRequest = z.strictObject({ force: z.boolean().default(false) });
export type ResetRequest = z.infer<typeof ResetRequest>;

/** Lifecycle of a supervised service process. */
export const ServiceState = z.enum(["stopped", "starting", "running", "backoff", "failed"]);

/** The dnsmasq child as the supervisor sees it. */
export const ProcessStatus = z.strictObject({
  name: z.string(),
  state: ServiceState,
  pid: z.number().int().nullable(),
  restarts: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  nextRestartAt: z.number().nullable(),
});
export type ProcessStatus = z.infer<typeof ProcessStatus>;

/** An NFS or NAT check. */
export const CheckStatus = z.strictObject({
  name: z.string(),
  state: z.enum(["ok", "degraded", "skipped"]),
  detail: z.string(),
  checks: z.record(z.string(), z.boolean()),
});
export type CheckStatus = z.infer<typeof CheckStatus>;

/** One row of `GET /services`. */
export const ServiceRow = z.strictObject({
  name: z.string(),
  state: z.string(),
  detail: z.string(),
  pid: z.number().int().nullable(),
  restarts: z.number().int().nullable(),
});
export type ServiceRow = z.infer<typeof ServiceRow>;

/** `GET /services` */
export const ServicesResponse = z.strictObject({
  mode: z.enum(["live", "dry"]),
  services: z.array(ServiceRow),
});
export type ServicesResponse = z.infer<typeof ServicesResponse>;

/** What an apply did. */
export const ApplyResult = z.strictObject({
  mode: z.enum(["live", "dry"]),
  /** Directory written to in dry mode, null when live. */
  dir: z.string().nullable(),
  written: z.array(z.string()),
  unchanged: z.array(z.string()),
  reloads: z.array(z.strictObject({ action: z.string(), ok: z.boolean(), detail: z.string() })),
  at: z.number(),
});
export type ApplyResult = z.infer<typeof ApplyResult>;

/** `POST /netboot/apply?dry_run=true`: what an apply would write and reload; nothing changes. */
export const ApplyPlan = z.strictObject({
  dryRun: z.literal(true),
  mode: z.enum(["live", "dry"]),
  files: z.array(z.strictObject({
    name: z.string(),
    /** Where it would be written. */
    target: z.string(),
    change: z.enum(["new", "changed", "unchanged"]),
    /** Unified diff against what is on disk ("" when unchanged). */
    diff: z.string(),
    reload: z.string(),
  })),
  /** The reloads the apply would run, in order, each with what it would execute. */
  reloads: z.array(z.strictObject({ action: z.string(), detail: z.string() })),
});
export type ApplyPlan = z.infer<typeof ApplyPlan>;

/** `GET /netboot/status` */
export const NetbootStatus = z.strictObject({
  mode: z.enum(["live", "dry"]),
  modeReason: z.string(),
  dnsmasq: ProcessStatus,
  nfs: CheckStatus,
  nat: CheckStatus,
  learning: z.strictObject({
    range: z.string().nullable(),
    waitingFor: z.nullable(NodeId),
    learned: z.number().int(),
    unknownMacs: z.number().int(),
  }),
  overlays: z.boolean(),
  lastApply: ApplyResult.nullable(),
});
export type NetbootStatus = z.infer<typeof NetbootStatus>;

/** One rendered file. */
export const RenderedFileDto = z.strictObject({
  name: z.string(),
  path: z.string().nullable(),
  content: z.string(),
  reload: z.string(),
});

/** `POST /netboot/render` */
export const RenderResponse = z.strictObject({
  files: z.array(RenderedFileDto),
  /** What was written when `write` was set, else null. */
  applied: ApplyResult.nullable(),
});
export type RenderResponse = z.infer<typeof RenderResponse>;

/** `GET /macs` */
export const MacsResponse = z.strictObject({
  macs: z.array(z.strictObject({
    node: NodeId,
    hostname: z.string(),
    ip: z.string(),
    mac: z.string(),
  })),
  unknown: z.array(z.strictObject({
    mac: z.string(),
    ip: z.string(),
    at: z.number(),
    reason: z.string(),
  })),
  waitingFor: z.nullable(NodeId),
});
export type MacsResponse = z.infer<typeof MacsResponse>;

/** `POST /nodes/:id/reset` */
export const ResetResponse = z.strictObject({
  node: NodeId,
  path: z.string(),
  removed: z.number().int(),
});
export type ResetResponse = z.infer<typeof ResetResponse>;
