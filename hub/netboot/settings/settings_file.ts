/**
 * Netboot settings from a JSON file (`--netboot-config`): any subset of NetbootSettings,
 * type-checked here, merged over the defaults and then checked against the node map.
 */
import { z } from "zod";
import type { NodeMap } from "../../../shared/node_map.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { parseOrThrow } from "../../../shared/schemas.ts";
import { readJsonConfig } from "../../config_file.ts";
import { type NetbootSettings, netbootSettings, validateSettings } from "./settings.ts";

const Octet = z.number().int().min(1).max(254);

/** The file's shape: every field optional, unknown fields rejected. */
export const NetbootSettingsFile = z.strictObject({
  clusterInterface: z.string(),
  uplinkInterface: z.string(),
  learningRange: z.strictObject({ first: Octet, last: Octet }).nullable(),
  leaseTime: z.string(),
  learningLeaseTime: z.string(),
  upstreamDns: z.union([z.literal("system"), z.array(z.string())]),
  dnsPort: z.number().int().min(1).max(65535),
  nfsVersion: z.union([z.literal(3), z.literal(4)]),
  nfsServer: z.enum(["kernel", "ganesha"]),
  rpcbindBinary: z.string(),
  ganeshaBinary: z.string(),
  overlays: z.boolean(),
  dnsmasqUser: z.string().nullable(),
  dnsmasqBinary: z.string(),
  mode: z.enum(["auto", "live", "dry"]),
  cmdlinePrefix: z.string(),
  ipxeCmdlinePrefix: z.string(),
  configTxt: z.boolean(),
  paths: z.strictObject({
    configDir: z.string(),
    tftpRoot: z.string(),
    nfsRoot: z.string(),
    overlayDir: z.string(),
    leaseFile: z.string(),
    eventsFile: z.string(),
    pidFile: z.string(),
    exportsFile: z.string(),
    ganeshaConfig: z.string(),
    ganeshaStateDir: z.string(),
    rulesV4File: z.string(),
    sysctlFile: z.string(),
  }).partial(),
  wifi: z.strictObject({
    country: z.string(),
    ssid: z.string(),
    psk: z.string(),
    hubAccessPoint: z.boolean(),
    apInterface: z.string(),
    apBridge: z.string().nullable(),
    channel: z.number().int(),
  }).partial(),
}).partial();

/** Builds netboot settings from the file at `path` (if any) for `map`; dry output in `dryDir`. */
export function loadNetbootSettings(
  map: NodeMap,
  dryDir: string,
  path?: string,
): NetbootSettings {
  let partial: z.infer<typeof NetbootSettingsFile> = {};
  if (path) {
    const raw = readJsonConfig(path, "netboot config");
    partial = parseOrThrow(NetbootSettingsFile, raw, `netboot config ${path}`);
  }
  const settings = netbootSettings({ dryDir, ...partial });
  try {
    return validateSettings(map, settings);
  } catch (e) {
    if (e instanceof ClusterError) {
      throw new ClusterError(e.code, `${path ?? "netboot settings"}: ${e.message}`, e.details);
    }
    throw e;
  }
}
