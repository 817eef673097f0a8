/** Live or dry: live only when root on a Raspberry Pi (or forced by the `mode` setting). */
import { readSystemTextSync } from "../../../shared/system_access.ts";
import type { NetbootSettings } from "../settings/settings.ts";

/** Facts about the machine the hub runs on. */
export interface HostProbe {
  isRoot(): boolean;
  isRaspberryPi(): boolean;
}

/** Where the board names itself (absent on machines without a device tree). */
export const DEVICE_TREE_MODEL = "/proc/device-tree/model";

/**
 * The real probe: uid 0 and a device-tree model naming a Raspberry Pi. A hub without
 * `--allow-all` cannot read the model: that throws a SystemAccessError (a fault that names the
 * fix), never "not a Raspberry Pi", or a real hub would stay in dry mode without saying why.
 */
export const realHostProbe: HostProbe = {
  isRoot: () => Deno.uid() === 0,
  isRaspberryPi: () => (readSystemTextSync(DEVICE_TREE_MODEL) ?? "").includes("Raspberry Pi"),
};

/** The chosen mode and why. */
export interface ModeDecision {
  mode: "live" | "dry";
  reason: string;
}

/** Picks live or dry mode. Throws the probe's SystemAccessError (the hub does not start). */
export function decideMode(setting: NetbootSettings["mode"], probe: HostProbe): ModeDecision {
  if (setting === "live") return { mode: "live", reason: "mode setting is live" };
  if (setting === "dry") return { mode: "dry", reason: "mode setting is dry" };
  if (!probe.isRoot()) return { mode: "dry", reason: "not running as root" };
  if (!probe.isRaspberryPi()) return { mode: "dry", reason: "not running on a Raspberry Pi" };
  return { mode: "live", reason: "root on a Raspberry Pi" };
}
