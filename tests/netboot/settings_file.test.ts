/** Netboot settings from a JSON file: merged over the defaults, type- and sense-checked. */
import assert from "node:assert/strict";
import { loadNetbootSettings } from "../../hub/netboot/settings/settings_file.ts";
import { DEFAULT_NETBOOT_SETTINGS } from "../../hub/netboot/settings/settings.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import { ClusterError } from "../../shared/errors.ts";

const map = buildNodeMap();

async function withFile(content: string, fn: (path: string) => void) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/netboot.json`, content);
    fn(`${dir}/netboot.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("netboot config file: fields merge over the defaults, nested ones too", () =>
  withFile(
    JSON.stringify({
      overlays: true,
      wifi: { ssid: "lab", psk: "correct horse" },
      paths: { tftpRoot: "/srv/boot" },
    }),
    (path) => {
      const s = loadNetbootSettings(map, "/tmp/dry", path);
      assert.equal(s.overlays, true);
      assert.equal(s.wifi.ssid, "lab");
      assert.equal(
        s.wifi.country,
        DEFAULT_NETBOOT_SETTINGS.wifi.country,
        "unset wifi fields keep defaults",
      );
      assert.equal(s.paths.tftpRoot, "/srv/boot");
      assert.equal(s.paths.nfsRoot, DEFAULT_NETBOOT_SETTINGS.paths.nfsRoot);
      assert.equal(s.dryDir, "/tmp/dry");
    },
  ));

Deno.test("netboot config file: no file means the defaults", () => {
  const s = loadNetbootSettings(map, "/tmp/dry");
  assert.equal(s.clusterInterface, DEFAULT_NETBOOT_SETTINGS.clusterInterface);
  assert.equal(s.overlays, false);
});

Deno.test("netboot config file: wrong types, unknown fields, bad values and bad JSON are clear errors", async () => {
  const cases: [string, RegExp][] = [
    [`{"overlays":"yes"}`, /overlays: .*boolean/],
    [`{"bogus":1}`, /Unrecognized key: "bogus"/],
    [`{"wifi":{"psk":"short"}}`, /wifi\.psk must be 8 to 63/],
    [`{"clusterInterface":"eth0","uplinkInterface":"eth0"}`, /clusterInterface|uplinkInterface/],
    [`{"learningRange":{"first":30,"last":40}}`, /learningRange|node/],
    [`{nope`, /cannot read netboot config/],
  ];
  for (const [content, message] of cases) {
    await withFile(content, (path) => {
      assert.throws(() => loadNetbootSettings(map, "/tmp/dry", path), (e: unknown) => {
        assert.ok(e instanceof ClusterError, `${content}: ${e}`);
        assert.match(e.message, message, content);
        return true;
      });
    });
  }
  assert.throws(() => loadNetbootSettings(map, "/tmp/dry", "/nonexistent.json"), /file not found/);
});
