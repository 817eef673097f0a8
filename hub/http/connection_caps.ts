/**
 * Caps on long-lived connections of one kind (WebSockets, SSE streams, TCP connections): at
 * most `max` in all and `perAddress` from one remote address. A holder that presents the
 * admin token may use `reserved` more slots over `max` (and is not held to `perAddress`), so
 * an operator still gets in while a flood fills the public slots. Pure bookkeeping, and the
 * refusal the HTTP edge answers with.
 */
import type { Context } from "hono";
import { ClusterError } from "../../shared/errors.ts";

/** Limits for one kind of connection. */
export interface CapLimits {
  /** Connections in all (token holders may use `reserved` more). */
  max: number;
  /** Connections from one remote address (not applied to token holders). */
  perAddress: number;
  /** Extra slots over `max` for token holders. */
  reserved?: number;
}

/** Why a connection was refused. */
export type CapRefusal = "total" | "address";

/** The result of asking for a slot: a release function, or the reason for the refusal. */
export type CapResult = { ok: true; release: () => void } | { ok: false; refused: CapRefusal };

/** Counts connections per address and in all. */
export class ConnectionCaps {
  readonly limits: Required<CapLimits>;
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(limits: CapLimits) {
    this.limits = { reserved: 0, ...limits };
  }

  /** Connections held now. */
  get total(): number {
    return this.#total;
  }

  /** Connections held now from `address`. */
  from(address: string): number {
    return this.#byAddress.get(address) ?? 0;
  }

  /** Takes a slot for `address` if the limits allow; `privileged` = presented the token. */
  acquire(address: string, privileged = false): CapResult {
    const max = this.limits.max + (privileged ? this.limits.reserved : 0);
    if (this.#total >= max) return { ok: false, refused: "total" };
    const held = this.from(address);
    if (!privileged && held >= this.limits.perAddress) return { ok: false, refused: "address" };
    this.#total++;
    this.#byAddress.set(address, held + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        const n = this.from(address) - 1;
        if (n > 0) this.#byAddress.set(address, n);
        else this.#byAddress.delete(address);
      },
    };
  }
}

/**
 * Takes a slot or throws the refusal as the client sees it: `429 too_many_connections` when
 * this address holds its share, `503 busy` when the hub is full (both with `Retry-After`).
 */
export function acquireOrRefuse(
  caps: ConnectionCaps,
  what: string,
  address: string,
  privileged = false,
): () => void {
  const got = caps.acquire(address, privileged);
  if (got.ok) return got.release;
  const { max, perAddress } = caps.limits;
  throw got.refused === "address"
    ? new ClusterError(
      "too_many_connections",
      `${address} already holds ${perAddress} ${what}, the most one address may; close one or try again later`,
    )
    : new ClusterError(
      "busy",
      `the hub already serves ${max} ${what}, the most it allows; try again later`,
    );
}

/** The client's address as the server saw it ("local" for in-process requests in tests). */
export function remoteAddress(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "local";
}
