/** Typed errors of the netboot services: every one is a {@link ClusterError} with a clear message. */
import { ClusterError } from "../../../shared/errors.ts";

/** A netboot setting or rendered value is unusable (bad MAC, interface name, injection attempt). */
export class NetbootConfigError extends ClusterError {
  constructor(message: string, details?: unknown) {
    super("bad_request", message, details);
    this.name = "NetbootConfigError";
  }
}
