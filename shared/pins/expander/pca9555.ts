/**
 * NXP PCA9555 register map, shared by the PCA9535 and TI TCA9555: input 0/1, output 2/3,
 * polarity inversion 4/5, configuration 6/7 (1 = input).
 */
import type { ExpanderRegisterMap } from "./register_map.ts";

/** PCA9555 / PCA9535 / TCA9555. */
export const PCA9555: ExpanderRegisterMap = {
  chip: "PCA9555",
  pins: [0, 1],
  latch: [2, 3],
  polarity: [4, 5],
  direction: [6, 7],
};
