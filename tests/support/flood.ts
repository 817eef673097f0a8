/**
 * Connection floods from several loopback addresses (127.0.0.2, …), for the lockout test and the
 * benchmark: kept-alive idle connections (one request each, then silence), opened through
 * node:net, which can choose the source address.
 */
import net from "node:net";

/** Opens `perAddress` kept-alive idle connections from each of `addresses` to `port`. */
export async function idleFlood(
  port: number,
  addresses: string[],
  perAddress: number,
): Promise<net.Socket[]> {
  const open = (localAddress: string) =>
    new Promise<net.Socket | null>((resolve) => {
      const sock = net.createConnection({ host: "127.0.0.1", port, localAddress }, () => {
        sock.write("GET /api/v1/health HTTP/1.1\r\nHost: hub\r\n\r\n");
        resolve(sock);
      });
      sock.on("data", () => {}); // read what comes (the answer), then sit idle
      sock.on("error", () => resolve(null));
    });
  const socks: net.Socket[] = [];
  for (let i = 0; i < perAddress; i++) {
    const batch = await Promise.all(addresses.map(open));
    for (const s of batch) if (s) socks.push(s);
  }
  return socks;
}

/** Closes every socket of a flood. */
export function endFlood(socks: net.Socket[]): void {
  for (const s of socks) s.destroy();
}
