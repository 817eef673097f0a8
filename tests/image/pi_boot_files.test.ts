/**
 * scripts/image/pi-boot-files.sh: the arm64 image's Pi boot files, laid out in one place. From a
 * raspi-firmware tree and a kernel's Broadcom device trees (small trees compiled here with dtc,
 * shaped like Debian's: the GPIO controller under /soc, a phandle, no __symbols__), it puts the
 * firmware files and every tree into the TFTP root, and builds the bay LED node (GPIO 21, lit
 * high) into the trees of the boards that sit in LAN bays (3B, 3B+, 4), and only those.
 */
import assert from "node:assert/strict";

const IMAGE = new URL("../../scripts/image/", import.meta.url).pathname;

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout).trim(), stderr: text(out.stderr) };
}

const hasDtc = (await run("sh", ["-c", "command -v dtc && command -v fdtput"]).catch(() => null))
  ?.code === 0;

/** A board tree as Debian ships it: the SoC's GPIO controller with a phandle, no symbols. */
function boardDts(model: string, gpioCompatible: string): string {
  return `/dts-v1/;
/ {
  model = "${model}";
  #address-cells = <1>;
  #size-cells = <1>;
  soc {
    #address-cells = <1>;
    #size-cells = <1>;
    gpio@7e200000 {
      compatible = "${gpioCompatible}";
      reg = <0x7e200000 0xb4>;
      gpio-controller;
      #gpio-cells = <2>;
      phandle = <0x2a>;
    };
  };
};
`;
}

const TREES: Record<string, [string, string]> = {
  "bcm2837-rpi-3-b": ["Raspberry Pi 3 Model B", "brcm,bcm2835-gpio"],
  "bcm2837-rpi-3-b-plus": ["Raspberry Pi 3 Model B+", "brcm,bcm2835-gpio"],
  "bcm2837-rpi-3-a-plus": ["Raspberry Pi 3 Model A+", "brcm,bcm2835-gpio"],
  "bcm2711-rpi-4-b": ["Raspberry Pi 4 Model B", "brcm,bcm2711-gpio"],
  "bcm2711-rpi-400": ["Raspberry Pi 400", "brcm,bcm2711-gpio"],
};
const BAYS = ["bcm2837-rpi-3-b", "bcm2837-rpi-3-b-plus", "bcm2711-rpi-4-b"];

Deno.test({
  name: "pi-boot-files.sh: firmware and trees into the TFTP root, the bay LED node in 3B/3B+/4",
  ignore: !hasDtc,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "cm-pi-boot-files-" });
    try {
      const root = `${tmp}/root`;
      const fw = `${tmp}/firmware`;
      const dtbs = `${root}/usr/lib/linux-image-6.1.0-57-arm64/broadcom`;
      await Deno.mkdir(dtbs, { recursive: true });
      await Deno.mkdir(`${fw}/usr/lib/raspi-firmware`, { recursive: true });
      for (const f of ["bootcode.bin", "start.elf", "start4.elf", "fixup.dat", "fixup4.dat"]) {
        await Deno.writeTextFile(`${fw}/usr/lib/raspi-firmware/${f}`, `firmware ${f}`);
      }
      for (const [name, [model, gpio]] of Object.entries(TREES)) {
        await Deno.writeTextFile(`${tmp}/${name}.dts`, boardDts(model, gpio));
        const c = await run("dtc", [
          "-q",
          "-I",
          "dts",
          "-O",
          "dtb",
          "-o",
          `${dtbs}/${name}.dtb`,
          `${tmp}/${name}.dts`,
        ]);
        assert.equal(c.code, 0, c.stderr);
      }
      const boot = `${tmp}/boot`;
      // twice: a second run (the image rebuilt in place) lays out the same files
      for (let i = 0; i < 2; i++) {
        const r = await run("sh", [`${IMAGE}pi-boot-files.sh`, root, boot, fw]);
        assert.equal(r.code, 0, r.stderr);
      }
      assert.equal(await Deno.readTextFile(`${boot}/bootcode.bin`), "firmware bootcode.bin");
      assert.equal(await Deno.readTextFile(`${boot}/start4.elf`), "firmware start4.elf");
      assert.equal(await Deno.readTextFile(`${boot}/fixup.dat`), "firmware fixup.dat");
      const fdtget = (name: string, node: string, prop: string) =>
        run("fdtget", [`${boot}/${name}.dtb`, node, prop]);
      for (const name of Object.keys(TREES)) {
        const model = await fdtget(name, "/", "model");
        assert.equal(model.stdout, TREES[name][0], `${name}.dtb is the kernel's tree`);
        const gpios = await fdtget(name, "/cm-bay-leds/led-bay", "gpios");
        if (BAYS.includes(name)) {
          // <&gpio 21 0>: the controller's phandle (0x2a), GPIO 21, active high
          assert.equal(gpios.code, 0, `${name}: no bay LED node: ${gpios.stderr}`);
          assert.equal(gpios.stdout, "42 21 0", name);
          assert.equal((await fdtget(name, "/cm-bay-leds/led-bay", "label")).stdout, "bay");
          assert.equal((await fdtget(name, "/cm-bay-leds", "compatible")).stdout, "gpio-leds");
        } else {
          assert.notEqual(gpios.code, 0, `${name} is no bay board, yet has the node`);
        }
      }
      // without raspi-firmware it says so
      const none = await run("sh", [`${IMAGE}pi-boot-files.sh`, root, `${tmp}/boot2`]);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no raspi-firmware in /);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
