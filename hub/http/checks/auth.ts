/**
 * Bearer auth by route rule: public, read (anyone, or with `--read-token required` the read or
 * admin token), admin (admin token) or agent (a node's own agent key, the old shared key while
 * it is allowed, or the admin token). An agent route finds who the token speaks for in
 * `c.get("agentCredential")`.
 * A check, not a middleware: `createApp` calls it inside each route's handler, so the
 * heartbeat ingest takes no middleware hop (docs/benchmarks.md has the figures).
 */
import type { Context } from "hono";
import { ClusterError } from "../../../shared/errors.ts";
import type { AgentAuthCounters, AgentCredential, AgentKeys } from "../../auth/agent_keys.ts";
import { bearerToken, secretMatches } from "../../auth/secrets.ts";
import type { RouteSpec } from "../route.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** Who an agent route's token speaks for (set by {@link authorize}). */
    agentCredential: AgentCredential;
  }
}

/** Secrets the app checks bearer tokens against. */
export interface AppAuth {
  adminToken: string;
  /** The read-only token (DATA/read-token). */
  readToken: string;
  /** Reads need the read or admin token (`--read-token required`). */
  readsNeedToken: boolean;
  agentKeys: AgentKeys;
  /** Counts refused and shared-key heartbeats (for /metrics). */
  agentCounters: AgentAuthCounters;
}

/** Checks the bearer token (or `?token=` where the route allows it) for a route's auth rule. */
export function authorize(
  c: Context,
  auth: AppAuth,
  rule: RouteSpec["auth"],
  tokenQuery = false,
): void {
  if (rule === "public" || (rule === "read" && !auth.readsNeedToken)) return;
  const query = tokenQuery ? c.req.query("token")?.trim() : undefined;
  const token = bearerToken(c.req.header("authorization")) ?? (query ? query : undefined);
  if (rule === "read") {
    if (token && (secretMatches(token, auth.readToken) || secretMatches(token, auth.adminToken))) {
      return;
    }
    throw new ClusterError(
      "unauthorized",
      token
        ? "the bearer token is not valid for reads on this hub (use the read token or the admin token)"
        : "this hub requires a token for reads (--read-token required): add -H 'Authorization: Bearer <token>' with the read token (the data directory's read-token file) or the admin token",
    );
  }
  if (!token) {
    if (rule === "agent") auth.agentCounters.refused("bad_key");
    throw new ClusterError(
      "unauthorized",
      "this call needs a bearer token: add -H 'Authorization: Bearer <token>' (the hub printed it on first start; it is in the data directory's token file)",
    );
  }
  if (rule === "agent") {
    const cred = auth.agentKeys.identify(token);
    if (cred?.kind === "shared" && !auth.agentKeys.sharedKeyAllowed) {
      auth.agentCounters.refused("shared_key_off");
      throw new ClusterError(
        "unauthorized",
        "the shared agent key is turned off on this hub (--no-shared-agent-key): give this node " +
          "its own key (`cm agent-key N`, or the netboot overlay; docs/security.md)",
      );
    }
    if (cred) {
      c.set("agentCredential", cred);
      return;
    }
    if (secretMatches(token, auth.adminToken)) {
      c.set("agentCredential", { kind: "admin" });
      return;
    }
    auth.agentCounters.refused("bad_key");
    throw new ClusterError("unauthorized", "the bearer token is not valid for this call");
  }
  if (!secretMatches(token, auth.adminToken)) {
    throw new ClusterError("unauthorized", notAdmin(token, auth));
  }
}

/** Why a token that is not the admin token may not make a change: which token it is. */
function notAdmin(token: string, auth: AppAuth): string {
  const need = "this call needs the admin token (the data directory's token file)";
  if (secretMatches(token, auth.readToken)) {
    return `this is the read token, which may only read: ${need}`;
  }
  if (auth.agentKeys.identify(token)) {
    return `this is an agent key, which may only send heartbeats: ${need}`;
  }
  return "the bearer token is not valid for this call";
}
