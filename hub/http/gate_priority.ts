/**
 * Who may use the TCP gate's reserved connection slots: the owner (a request with the admin
 * token) and the agents (their heartbeats). Read from a connection's first request head, when
 * the public slots are full (tcp_gate.ts). Pure.
 *
 * Heartbeats are recognised by their request line (`POST /api/v1/agent/heartbeat`), not by a
 * key: the app still authenticates them, and whatever key scheme the agents use, a node must
 * not go `lost` because strangers hold every connection. A stranger posing as a heartbeat gets a
 * reserved slot for one request, is refused by the app, and its connection, once idle, is shed
 * when the owner or an agent needs the slot.
 */
import { bearerToken, secretMatches } from "../auth/secrets.ts";

/** A connection's claim to a reserved slot. */
export type GatePriority = "admin" | "agent" | null;

/** The path of the agents' heartbeat. */
export const HEARTBEAT_PATH = "/api/v1/agent/heartbeat";

/** The largest request head the gate reads to classify a connection, bytes. */
export const MAX_CLASSIFIED_HEAD = 16 * 1024;

/**
 * Classifies a request head (request line and headers, up to the blank line): `admin` for a
 * valid admin token (header, or `?token=` on the request line), `agent` for a heartbeat.
 */
export function classifyHead(head: string, adminToken: string): GatePriority {
  const lines = head.split("\r\n");
  const [method, target] = lines[0].split(" ");
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== "authorization") continue;
    if (secretMatches(bearerToken(line.slice(colon + 1).trim()), adminToken)) return "admin";
  }
  const query = target?.split("?")[1];
  if (query && secretMatches(new URLSearchParams(query).get("token") ?? undefined, adminToken)) {
    return "admin";
  }
  if (method === "POST" && target?.split("?")[0] === HEARTBEAT_PATH) return "agent";
  return null;
}
