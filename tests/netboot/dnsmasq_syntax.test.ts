/** Runs the real `dnsmasq --test` on generated configurations (skipped when dnsmasq is absent). */
import assert from "node:assert/strict";
import { buildNodeMap } from "../../shared/node_map.ts";
import { netbootSettings } from "../../hub/netboot/settings/settings.ts";
import { renderDnsmasqConf } from "../../hub/netboot/render/dnsmasq.ts";
import { ensureNetbootDeps } from "./helpers.ts";

const deps = await ensureNetbootDeps();

Deno.test({
  name: "dnsmasq --test accepts the generated dnsmasq.conf in every variant",
  ignore: deps.dnsmasq === null,
  async fn() {
    const map = buildNodeMap();
    const variants = [
      netbootSettings(),
      netbootSettings({ overlays: true, learningRange: null, upstreamDns: ["9.9.9.9"] }),
      netbootSettings({ dnsmasqUser: "root", dnsPort: 5353, upstreamDns: [] }),
      netbootSettings({ clusterInterface: "br0", uplinkInterface: "eth1" }),
    ];
    const dir = await Deno.makeTempDir({ prefix: "cm-dnsmasq-test-" });
    try {
      for (const [i, s] of variants.entries()) {
        const conf = `${dir}/dnsmasq-${i}.conf`;
        await Deno.writeTextFile(conf, renderDnsmasqConf(map, s));
        const out = await new Deno.Command(deps.dnsmasq!, { args: ["--test", "-C", conf] })
          .output();
        const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, `variant ${i}: ${text}`);
        assert.match(text, /syntax check OK/);
      }
      // the options whose acceptance matters most are really in the checked files
      const checked = renderDnsmasqConf(map, variants[0]).split("\n");
      assert.ok(checked.includes("script-on-renewal"));
      // and the checker does catch a broken file, so the assertion above means something
      const broken = `${dir}/broken.conf`;
      await Deno.writeTextFile(
        broken,
        renderDnsmasqConf(map, netbootSettings()) + "dhcp-range=nonsense\n",
      );
      const out = await new Deno.Command(deps.dnsmasq!, { args: ["--test", "-C", broken] })
        .output();
      assert.notEqual(out.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
