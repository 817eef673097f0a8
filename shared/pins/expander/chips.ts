/**
 * The expander types a power config may name, and the register map of each.
 */
import { MCP23017 } from "./mcp23017.ts";
import { PCA9555 } from "./pca9555.ts";
import type { ExpanderRegisterMap } from "./register_map.ts";

/** Expander types a config may name (PCA9535 and TCA9555 share the PCA9555 map). */
export const EXPANDER_TYPES = ["mcp23017", "pca9555", "pca9535", "tca9555"] as const;
/** One of {@link EXPANDER_TYPES}. */
export type ExpanderType = typeof EXPANDER_TYPES[number];

/** The register map of each expander type. */
export const EXPANDER_MAPS: Record<ExpanderType, ExpanderRegisterMap> = {
  mcp23017: MCP23017,
  pca9555: PCA9555,
  pca9535: { ...PCA9555, chip: "PCA9535" },
  tca9555: { ...PCA9555, chip: "TCA9555" },
};
