/** Shared helpers of the netboot tests: finding (and if root, installing) the real tools. */

/** Paths of the tools the real-dnsmasq tests use; null where missing. */
export interface NetbootDeps {
  dnsmasq: string | null;
  busybox: string | null;
  ip: string | null;
  /** iptables (for the NAT rules in the namespace test; optional). */
  iptables: string | null;
  /** rpcbind, ganesha.nfsd and rpcinfo (the nfs-ganesha backend test). */
  rpcbind: string | null;
  ganesha: string | null;
  rpcinfo: string | null;
  /** Why something is missing, for skip messages. */
  note: string;
}

async function which(name: string): Promise<string | null> {
  for (
    const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
  ) {
    const p = `${dir}/${name}`;
    const st = await Deno.stat(p).catch(() => null);
    if (st?.isFile) return p;
  }
  return null;
}

let cached: Promise<NetbootDeps> | null = null;

/**
 * Runs scripts/netboot/install-deps.sh when root (idempotent, quiet), then locates dnsmasq,
 * busybox, ip, iptables, rpcbind, ganesha.nfsd and rpcinfo. Never throws; missing tools come back as null with a note.
 */
export function ensureNetbootDeps(): Promise<NetbootDeps> {
  cached ??= (async () => {
    let note = "";
    if (Deno.uid() === 0) {
      const script = new URL("../../scripts/netboot/install-deps.sh", import.meta.url).pathname;
      const out = await new Deno.Command("sh", { args: [script] }).output().catch(() => null);
      if (!out || out.code !== 0) {
        note = `install-deps.sh failed: ${
          out ? new TextDecoder().decode(out.stderr).trim() : "sh missing"
        }`;
      }
    } else note = "not root: cannot install missing packages";
    const [dnsmasq, busybox, ip, iptables, rpcbind, ganesha, rpcinfo] = await Promise.all([
      which("dnsmasq"),
      which("busybox"),
      which("ip"),
      which("iptables"),
      which("rpcbind"),
      which("ganesha.nfsd"),
      which("rpcinfo"),
    ]);
    const missing = [
      ["dnsmasq", dnsmasq],
      ["busybox", busybox],
      ["ip", ip],
      ["rpcbind", rpcbind],
      ["ganesha.nfsd", ganesha],
    ].filter((x) => !x[1]);
    if (missing.length) {
      note = `missing ${missing.map((x) => x[0]).join(", ")}${note ? ` (${note})` : ""}`;
      console.warn(`netboot tests: ${note}; the tests that need them are skipped`);
    }
    return { dnsmasq, busybox, ip, iptables, rpcbind, ganesha, rpcinfo, note };
  })();
  return cached;
}

/** Runs a command to its end; its exit code and output as text. */
export async function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** {@link sh}, throwing with the command's output when it fails. */
export async function must(cmd: string, args: string[]) {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  return r;
}

/** Waits (up to about 5 s) for dnsmasq's pid file: it appears once dnsmasq has bound. */
export async function waitForPidFile(path: string): Promise<void> {
  for (let i = 0; i < 50 && !(await Deno.stat(path).catch(() => null)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

const NETBOOT_SCRIPTS = new URL("../../scripts/netboot/", import.meta.url).pathname;

/**
 * Makes namespaces `hubNs` and `nodeNs` joined by a veth pair (`vethHub` with `hubCidr`,
 * `vethNode` with MAC `nodeMac` and no address): scripts/netboot/netns-setup.sh.
 */
export async function createNetnsPair(
  n: { hubNs: string; nodeNs: string; vethHub: string; vethNode: string },
  hubCidr: string,
  nodeMac: string,
): Promise<void> {
  await must("sh", [
    `${NETBOOT_SCRIPTS}netns-setup.sh`,
    n.hubNs,
    n.nodeNs,
    n.vethHub,
    n.vethNode,
    hubCidr,
    nodeMac,
  ]);
}
