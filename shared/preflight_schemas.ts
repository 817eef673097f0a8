/** `GET /api/v1/preflight`: the checks run before a bootstrap, each pass, warn, fail or skip. */
import { z } from "zod";

/** The outcome of one check. */
export const CheckStatus = z.enum(["pass", "warn", "fail", "skip"]);
export type CheckStatus = z.infer<typeof CheckStatus>;

/** One preflight check. */
export const PreflightCheck = z.strictObject({
  name: z.enum([
    "rogue_dhcp",
    "tftp_root",
    "nfs_export",
    "ip_forward",
    "nat_rules",
    "hub_address",
    "clock",
  ]),
  status: CheckStatus,
  /** What was found. */
  detail: z.string(),
  /** How to fix it (empty when it passed). */
  hint: z.string(),
});
export type PreflightCheck = z.infer<typeof PreflightCheck>;

/** The whole preflight. */
export const PreflightReport = z.strictObject({
  /** No check failed. */
  ok: z.boolean(),
  at: z.number().int(),
  /** Netboot's mode: in dry mode the network checks are skipped. */
  mode: z.enum(["live", "dry"]),
  checks: z.array(PreflightCheck),
  summary: z.string(),
});
export type PreflightReport = z.infer<typeof PreflightReport>;
