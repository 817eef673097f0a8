/** Live or dry: live only when root on a Raspberry Pi (or forced by the `mode` setting). */
import type { NetbootSettings } from "../settings/settings.ts";

/** Facts about the machine the hub runs on. */
export interface HostProbe {
  isRoot(): boolean;
  isRaspberryPi(): boolean;
}

/** The real probe: uid 0 and a device-tree model naming a Raspberry Pi. */
export const realHostProbe: HostProbe = {
  isRoot: () => Deno.uid() === 0,
  isRaspberryPi: () => {
    try {
      return Deno.readTextFileSync("/proc/device-tree/model").includes("Raspberry Pi");
    } catch {
      return false;
    }
  },
};

/** The chosen mode and why. */
export interface ModeDecision {
  mode: "live" | "dry";
  reason: string;
}

/** Picks live or dry mode. */
export function decideMode(setting: NetbootSettings["mode"], probe: HostProbe): ModeDecision {
  if (setting === "live") return { mode: "live", reason: "mode setting is live" };
  if (setting === "dry") return { mode: "dry", reason: "mode setting is dry" };
  if (!probe.isRoot()) return { mode: "dry", reason: "not running as root" };
  if (!probe.isRaspberryPi()) return { mode: "dry", reason: "not running on a Raspberry Pi" };
  return { mode: "live", reason: "root on a Raspberry Pi" };
}
