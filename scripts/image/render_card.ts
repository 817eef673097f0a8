/**
 * Writes the Pi Zero W card's rendered files into a directory, from the hub's own renderers
 * and netboot settings (the WiFi the bays join is the hub's `wifi` setting):
 * `config.txt`, `cmdline.txt` (the card's FAT partition) and `wpa_supplicant-wlan0.conf`.
 *
 *   deno run --allow-read --allow-write scripts/image/render_card.ts --out DIR
 *       [--netboot-config FILE] [--node N] [--hub URL]
 */
import { parseArgs } from "node:util";
import { buildNodeMap } from "../../shared/node_map.ts";
import { parseIntFlag } from "../../shared/int_flag.ts";
import {
  loadNetbootSettings,
  renderWpaSupplicant,
  renderZeroCardCmdline,
  renderZeroCardConfigTxt,
} from "../../hub/netboot/mod.ts";

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      strict: true,
      options: {
        out: { type: "string" },
        "netboot-config": { type: "string" },
        node: { type: "string" },
        hub: { type: "string" },
      },
    });
    if (!values.out) throw new Error("give --out DIR");
    const node = values.node === undefined ? undefined : parseIntFlag("--node", values.node, 1, 60);
    const map = buildNodeMap();
    const s = loadNetbootSettings(map, "/nonexistent", values["netboot-config"]);
    await Deno.writeTextFile(`${values.out}/config.txt`, renderZeroCardConfigTxt(map, s));
    await Deno.writeTextFile(
      `${values.out}/cmdline.txt`,
      renderZeroCardCmdline(map, s, { node, hub: values.hub }),
    );
    await Deno.writeTextFile(
      `${values.out}/wpa_supplicant-wlan0.conf`,
      renderWpaSupplicant(map, s),
      {
        mode: 0o600,
      },
    );
  } catch (e) {
    console.error(`image(zerow): ${(e as Error).message}`);
    Deno.exit(2);
  }
}
