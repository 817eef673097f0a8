/**
 * Renders the netboot configs of the default 60-node module into docs/netboot/ as examples
 * (with overlays on, the hub as the Zero Ws' access point, and three sample learned MACs).
 * Run with `deno task netboot:examples`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { buildNodeMap } from "../../shared/node_map.ts";
import { netbootSettings, renderNetbootFiles } from "../../hub/netboot/mod.ts";

const out = join(dirname(fileURLToPath(import.meta.url)), "../../docs/netboot");
const map = buildNodeMap();
const examples: [string, ReturnType<typeof netbootSettings>][] = [
  ["default", netbootSettings()],
  [
    "overlays",
    netbootSettings({
      clusterInterface: "br0",
      overlays: true,
      wifi: { hubAccessPoint: true, apBridge: "br0" },
    }),
  ],
];
/** Sample MACs (documentation only; the hub learns the real ones). */
const sampleMacs = new Map([[1, "b8:27:eb:00:00:01"], [2, "b8:27:eb:00:00:02"], [
  30,
  "b8:27:eb:00:00:1e",
]]);

await rm(out, { recursive: true, force: true });
for (const [name, settings] of examples) {
  const files = renderNetbootFiles(map, settings, sampleMacs)
    // 48 per-node cmdline.txt files differ only in the node number: keep two as samples
    .filter((f) => !/^boot\/10\.42\.0\.\d+\//.test(f.name) || /\/10\.42\.0\.(1|2)\//.test(f.name));
  for (const f of files) {
    const path = join(out, name, f.name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.content, { mode: f.mode });
  }
  console.log(`docs/netboot/${name}: ${files.length} files`);
}
