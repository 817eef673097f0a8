/** Reading the hub's JSON config files (power driver, netboot) with one kind of error. */
import { ClusterError } from "../shared/errors.ts";

/** Parses the JSON file at `path`; a missing or malformed file is a clear `bad_request`. */
export function readJsonConfig(path: string, what: string): unknown {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new ClusterError("bad_request", `cannot read ${what} ${path}: ${why}`);
  }
}
