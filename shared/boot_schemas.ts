/**
 * Boot supervision messages: a node's boot timeline (power-on → DHCP → TFTP → NFS root →
 * first heartbeat → running), its quarantine, and `GET /api/v1/nodes/:id/boot`.
 */
import { z } from "zod";
import { NodeId } from "./wire_schemas.ts";

/** The stages of a node's boot, in order. */
export const BootStage = z.enum([
  "power_on",
  "dhcp_discover",
  "dhcp_request",
  "dhcp_ack",
  "tftp",
  "nfs_root",
  "heartbeat",
  "running",
]);
export type BootStage = z.infer<typeof BootStage>;

/** Every stage, in boot order. */
export const BOOT_STAGES: readonly BootStage[] = BootStage.options;

/** One stage reached. */
export const StageMark = z.strictObject({
  stage: BootStage,
  /** Hub time the stage was reached, ms since the epoch. */
  at: z.number().int(),
  /** What was seen, e.g. "DHCPACK 10.42.0.7 b8:27:eb:42:00:07 node07". */
  detail: z.string(),
  /** True when the stage was not observed but follows from a later one (the NFS root). */
  inferred: z.boolean(),
});
export type StageMark = z.infer<typeof StageMark>;

/** One TFTP transfer of a boot. */
export const TftpTransfer = z.strictObject({
  at: z.number().int(),
  file: z.string(),
  ip: z.string(),
  ok: z.boolean(),
});
export type TftpTransfer = z.infer<typeof TftpTransfer>;

/** One boot of one node, from a power-on to running, a stall, or a power-off. */
export const BootTimeline = z.strictObject({
  node: NodeId,
  /** 1 for the first boot, 2 after the first recovery power cycle, … */
  attempt: z.number().int().min(1),
  poweredOnAt: z.number().int(),
  /** Whether DHCP and TFTP are observed for this bay (dnsmasq's log; a LAN bay). */
  netbootObserved: z.boolean(),
  state: z.enum(["booting", "running", "stalled", "off"]),
  /** The stage a stalled boot stopped before (the first one it did not reach in time). */
  stalledAt: BootStage.nullable(),
  stages: z.array(StageMark),
  tftp: z.array(TftpTransfer),
  endedAt: z.number().int().nullable(),
});
export type BootTimeline = z.infer<typeof BootTimeline>;

/** A node taken out of bulk runs after its boot failed every recovery attempt. */
export const Quarantine = z.strictObject({
  /** The boot stage where it stopped. */
  stage: BootStage,
  reason: z.string(),
  at: z.number().int(),
  /** Boot attempts made (1 + power cycles). */
  attempts: z.number().int().min(1),
});
export type Quarantine = z.infer<typeof Quarantine>;

/** `GET /api/v1/nodes/:id/boot`: the latest boot timeline and the one before it. */
export const NodeBoot = z.strictObject({
  node: NodeId,
  latest: BootTimeline.nullable(),
  previous: BootTimeline.nullable(),
  quarantine: Quarantine.nullable(),
  /** Per-stage deadlines in force, ms after power-on. */
  timeouts: z.record(z.string(), z.number()),
});
export type NodeBoot = z.infer<typeof NodeBoot>;
