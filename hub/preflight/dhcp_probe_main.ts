/**
 * The rogue-DHCP probe, run as its own small process (so it can run inside a network
 * namespace, and the hub needs no port 68 of its own): sends one DHCPDISCOVER to the cluster
 * subnet's broadcast address from port 68 and prints every OFFER heard within the timeout as
 * one JSON line `{"offers":[…]}`. Needs --allow-net and root (port 68).
 *
 * `deno run --allow-net hub/preflight/dhcp_probe_main.ts BROADCAST TIMEOUT_MS`
 */
import dgram from "node:dgram";
import { buildDiscover, type DhcpOffer, parseOffer } from "./dhcp_packet.ts";

/** Sends the DISCOVER and collects offers for `timeoutMs`. */
export function probe(broadcast: string, timeoutMs: number): Promise<DhcpOffer[]> {
  return new Promise((resolve, reject) => {
    const xid = crypto.getRandomValues(new Uint32Array(1))[0];
    // A locally administered MAC no bay has: our dnsmasq does not know it.
    const mac = [0x02, 0xc3, ...crypto.getRandomValues(new Uint8Array(4))];
    const offers: DhcpOffer[] = [];
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
    sock.on("error", (e) => {
      sock.close();
      reject(e);
    });
    sock.on("message", (msg, rinfo) => {
      const o = parseOffer(new Uint8Array(msg), xid, rinfo.address);
      if (o) offers.push(o);
    });
    sock.bind(68, "0.0.0.0", () => {
      sock.setBroadcast(true);
      sock.send(buildDiscover(xid, mac), 67, broadcast, (err) => {
        if (err) {
          sock.close();
          return reject(err);
        }
        setTimeout(() => {
          sock.close();
          resolve(offers);
        }, timeoutMs);
      });
    });
  });
}

if (import.meta.main) {
  const [broadcast, timeout] = Deno.args;
  try {
    const offers = await probe(broadcast, Number(timeout) || 2000);
    console.log(JSON.stringify({ offers }));
  } catch (e) {
    console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    Deno.exit(1);
  }
}
