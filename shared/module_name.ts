/**
 * A module's name in a fleet of hubs, and fleet-wide node names.
 *
 * Every hub serves one module and has one name (default: the TAG of its asset tag). Across a
 * fleet a node is `MODULE:N` (node N of module MODULE): hostnames (`node07`) stay per module and
 * repeat on every module. The name is a label value, an Ansible group suffix and the part before
 * the colon, so it is kept to letters, digits, `_` and `-`.
 */
import { ClusterError } from "./errors.ts";

const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** Checks a module name (1–32 letters, digits, `_`, `-`; starting with a letter or digit). */
export function parseModuleName(text: string, what = "module name"): string {
  const t = text.trim();
  if (!MODULE_NAME.test(t)) {
    throw new ClusterError(
      "bad_request",
      `${what} must be 1 to 32 letters, digits, "_" or "-" (starting with a letter or digit), not ${
        JSON.stringify(text)
      }`,
    );
  }
  return t;
}

/** The Ansible group of a module (`CM-7` → `module_CM_7`: group names take no `-`). */
export function moduleGroup(module: string): string {
  return `module_${module.replace(/-/g, "_")}`;
}

/** The fleet-wide name of node `id` of `module`: `MODULE:N`. */
export function fleetNodeName(module: string, id: number): string {
  return `${module}:${id}`;
}

/** A node set of one module, as written `MODULE:SET` (the set is parsed by that module's hub). */
export interface ModuleNodeSet {
  module: string;
  /** The node set as written after the colon (`7`, `1-4,9`, `all`). */
  nodes: string;
}

/**
 * Splits a fleet node set: `A:1-4` → one part, `A:1-4,B:7` → two parts. A part without a
 * module prefix continues the module before it (`A:1,3` is `A:1` and `A:3`). Returns null when
 * the text names no module at all (a plain node set for one hub).
 */
export function parseFleetNodeSet(text: string): ModuleNodeSet[] | null {
  if (!text.includes(":")) return null;
  const parts: ModuleNodeSet[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    const colon = item.indexOf(":");
    if (colon < 0) {
      const last = parts.at(-1);
      if (!last) {
        throw new ClusterError(
          "invalid_range",
          `"${text}": the first item must name its module, e.g. MODULE:${item}`,
        );
      }
      last.nodes = last.nodes === "" ? item : `${last.nodes},${item}`;
      continue;
    }
    const module = parseModuleName(item.slice(0, colon), `module in "${item}"`);
    const nodes = item.slice(colon + 1).trim();
    if (nodes === "") {
      throw new ClusterError("invalid_range", `"${item}" names no node: write ${module}:N`);
    }
    const same = parts.find((p) => p.module === module);
    if (same) same.nodes = `${same.nodes},${nodes}`;
    else parts.push({ module, nodes });
  }
  return parts;
}
