/**
 * The power drivers' public face, for the Pi lab's scripts: what the Pi firmware does with a
 * boot partition (the same resolution the QEMU power switch uses). Everything else in
 * hub/power/ is internal.
 */
export {
  dtOverlays,
  PI_FIRMWARE_BOARDS,
  type PiBoot,
  type PiFirmwareBoard,
  resolvePiBoot,
} from "./pi_firmware.ts";
