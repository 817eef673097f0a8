/** Shared helpers of the netboot tests: finding (and if root, installing) the real tools. */
import assert from "node:assert/strict";

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

/** A hub namespace and a node namespace joined by a veth pair. */
export interface NetnsPair {
  hubNs: string;
  nodeNs: string;
  vethHub: string;
  vethNode: string;
}

/** What {@link withNetnsPair} hands the test. */
export interface NetnsTestEnv extends NetnsPair {
  /** A temp directory of the test's own. */
  root: string;
  /** Stops `sup` afterwards, before the namespaces go; returns it. */
  own<T extends { stop(): Promise<void> }>(sup: T): T;
}

/**
 * Runs `fn` with a fresh namespace pair (names from `tag`, unique to this run: the hub end
 * gets `hubCidr`, the node end MAC `nodeMac`) and a temp dir; afterwards, whatever `fn` did,
 * stops what it `own`ed, removes the namespaces and the dir, and with `ip` fails if a
 * namespace was left behind.
 */
export async function withNetnsPair(
  o: { tag: string; nodeMac: string; tmpPrefix: string; hubCidr?: string; ip?: string },
  fn: (env: NetnsTestEnv) => Promise<void>,
): Promise<void> {
  const suffix = `${Deno.pid % 10000}${Math.floor(Math.random() * 1e4)}`.slice(0, 8);
  const hubNs = `${o.tag}h${suffix}`.slice(0, 15);
  const nodeNs = `${o.tag}n${suffix}`.slice(0, 15);
  const pair = { hubNs, nodeNs, vethHub: hubNs, vethNode: nodeNs };
  const root = await Deno.makeTempDir({ prefix: o.tmpPrefix });
  const owned: { stop(): Promise<void> }[] = [];
  try {
    await createNetnsPair(pair, o.hubCidr ?? "10.42.0.250/24", o.nodeMac);
    await fn({
      ...pair,
      root,
      own: (sup) => {
        owned.push(sup);
        return sup;
      },
    });
  } finally {
    for (const s of owned.reverse()) await s.stop().catch(() => {});
    await sh("sh", [`${NETBOOT_SCRIPTS}netns-teardown.sh`, hubNs, nodeNs]);
    await Deno.remove(root, { recursive: true }).catch(() => {});
    if (o.ip) {
      const left = (await sh(o.ip, ["netns", "list"])).stdout;
      assert.ok(!left.includes(hubNs) && !left.includes(nodeNs), `namespaces left behind: ${left}`);
    }
  }
}

/**
 * busybox udhcpc on `vethNode` inside `nodeNs`, once (`-q -n`), in the foreground, `tries`
 * DISCOVERs a second apart; `extra` adds options (vendor class, PXE options).
 */
export function udhcpcInNode(
  ip: string,
  busybox: string,
  n: { nodeNs: string; vethNode: string },
  tries: number,
  extra: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return sh(ip, [
    ...["netns", "exec", n.nodeNs, busybox, "udhcpc", "-i", n.vethNode, "-f", "-q", "-n"],
    ...["-t", String(tries), "-T", "1", ...extra],
  ], env);
}

/** What the Pi boot ROM's DHCP sends: PXE vendor class, client arch 0 (option 93), UUID (97). */
export const PI_ROM_UDHCPC = [
  ...["-V", "PXEClient:Arch:00000:UNDI:002001"],
  ...["-x", "0x5d:0000", "-x", `0x61:00${"00".repeat(16)}`],
];

/** udhcpc options that ask for option 43 and write the lease to `$UDHCPC_OUT` as KEY=VALUE lines. */
export const UDHCPC_TO_FILE = ["-O", "43", "-s", `${NETBOOT_SCRIPTS}udhcpc-script.sh`];
