import { layerErrorCode } from "../../hub/http/errors.ts";
import assert from "node:assert/strict";
import {
  decodeChipInfo,
  decodeLineRequestFd,
  decodeLineValuesBits,
  encodeLineValues,
  IOCTL,
  OFFSETOF,
  outputLineRequest,
  SIZEOF,
} from "../../shared/pins/chardev_uapi.ts";
import { listGpioChips, openChardevLine } from "../../shared/pins/chardev.ts";
import { GpioBackendError } from "../../shared/pins/errors.ts";
import { openGpioLine } from "../../shared/pins/open.ts";

const HEADER = "/usr/include/linux/gpio.h";

/** Compiles and runs a C program against the kernel header; undefined if gcc or it is absent. */
async function runC(source: string): Promise<string | undefined> {
  try {
    await Deno.stat(HEADER);
  } catch {
    console.warn(`skipped: ${HEADER} absent (apt-get install -y linux-libc-dev)`);
    return undefined;
  }
  const dir = await Deno.makeTempDir({ prefix: "gpio-uapi-" });
  try {
    await Deno.writeTextFile(`${dir}/t.c`, source);
    let cc;
    try {
      cc = await new Deno.Command("gcc", { args: ["-o", `${dir}/t`, `${dir}/t.c`] }).output();
    } catch {
      console.warn("skipped: gcc not found (apt-get install -y gcc)");
      return undefined;
    }
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const run = await new Deno.Command(`${dir}/t`).output();
    assert.ok(run.success);
    return new TextDecoder().decode(run.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LAYOUT_C = `
#include <stdio.h>
#include <stddef.h>
#include <linux/gpio.h>
#define S(t) printf("sizeof %s %zu\\n", #t, sizeof(struct t));
#define O(t, f) printf("offsetof %s %s %zu\\n", #t, #f, offsetof(struct t, f));
#define I(n) printf("ioctl %s %lu\\n", #n, (unsigned long)(n));
int main(void) {
  S(gpiochip_info) S(gpio_v2_line_attribute) S(gpio_v2_line_config_attribute)
  S(gpio_v2_line_config) S(gpio_v2_line_request) S(gpio_v2_line_values)
  O(gpiochip_info, name) O(gpiochip_info, label) O(gpiochip_info, lines)
  O(gpio_v2_line_attribute, id) O(gpio_v2_line_attribute, padding)
  O(gpio_v2_line_attribute, flags)
  O(gpio_v2_line_config_attribute, attr) O(gpio_v2_line_config_attribute, mask)
  O(gpio_v2_line_config, flags) O(gpio_v2_line_config, num_attrs)
  O(gpio_v2_line_config, padding) O(gpio_v2_line_config, attrs)
  O(gpio_v2_line_request, offsets) O(gpio_v2_line_request, consumer)
  O(gpio_v2_line_request, config) O(gpio_v2_line_request, num_lines)
  O(gpio_v2_line_request, event_buffer_size) O(gpio_v2_line_request, padding)
  O(gpio_v2_line_request, fd)
  O(gpio_v2_line_values, bits) O(gpio_v2_line_values, mask)
  I(GPIO_GET_CHIPINFO_IOCTL) I(GPIO_V2_GET_LINE_IOCTL)
  I(GPIO_V2_LINE_GET_VALUES_IOCTL) I(GPIO_V2_LINE_SET_VALUES_IOCTL)
  return 0;
}
`;

Deno.test("chardev uAPI: documented sizes of the v2 structs", () => {
  assert.equal(SIZEOF.gpio_v2_line_request, 592);
  assert.equal(SIZEOF.gpio_v2_line_config, 272);
  assert.equal(SIZEOF.gpio_v2_line_attribute, 16);
  assert.equal(SIZEOF.gpio_v2_line_values, 16);
  assert.equal(outputLineRequest(21, "x", 0).length, 592);
  assert.equal(encodeLineValues(1n, 1n).length, 16);
});

Deno.test("chardev uAPI: sizes, offsets and ioctl numbers match linux/gpio.h", async () => {
  const out = await runC(LAYOUT_C);
  if (out === undefined) return;
  let checked = 0;
  for (const line of out.trim().split("\n")) {
    const [kind, ...rest] = line.split(" ");
    const n = Number(rest[rest.length - 1]);
    if (kind === "sizeof") {
      assert.equal(SIZEOF[rest[0] as keyof typeof SIZEOF], n, line);
    } else if (kind === "offsetof") {
      const fields = OFFSETOF[rest[0] as keyof typeof OFFSETOF] as Record<string, number>;
      const field = rest[1] === "flags" && rest[0] === "gpio_v2_line_attribute" ? "value" : rest[1];
      assert.equal(fields[field], n, line);
    } else {
      assert.equal(IOCTL[rest[0] as keyof typeof IOCTL], n, line);
    }
    checked++;
  }
  assert.equal(checked, 6 + 21 + 4, "every size, offset and ioctl number was compared");
});

const REQUEST_C = `
#include <stdio.h>
#include <string.h>
#include <linux/gpio.h>
int main(void) {
  struct gpio_v2_line_request req;
  memset(&req, 0, sizeof req);
  req.offsets[0] = 21;
  strcpy(req.consumer, "cluster-agent");
  req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
  req.config.num_attrs = 1;
  req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
  req.config.attrs[0].attr.values = 1;
  req.config.attrs[0].mask = 1;
  req.num_lines = 1;
  const unsigned char *p = (const unsigned char *)&req;
  for (size_t i = 0; i < sizeof req; i++) printf("%02x", p[i]);
  printf("\\n");
  struct gpio_v2_line_values v = { .bits = 1, .mask = 1 };
  p = (const unsigned char *)&v;
  for (size_t i = 0; i < sizeof v; i++) printf("%02x", p[i]);
  printf("\\n");
  return 0;
}
`;

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("chardev uAPI: an output request is byte-for-byte what C builds", async () => {
  const out = await runC(REQUEST_C);
  if (out === undefined) return;
  const [request, values] = out.trim().split("\n");
  assert.equal(hex(outputLineRequest(21, "cluster-agent", 1)), request);
  assert.equal(hex(encodeLineValues(1n, 1n)), values);
});

Deno.test("chardev uAPI: decoding what the kernel writes back", () => {
  const req = outputLineRequest(21, "cluster-agent", 0);
  new DataView(req.buffer).setInt32(588, 7, true);
  assert.equal(decodeLineRequestFd(req), 7);
  const values = encodeLineValues(0n, 1n);
  values[0] = 1;
  assert.equal(decodeLineValuesBits(values), 1n);
  const info = new Uint8Array(68);
  info.set(new TextEncoder().encode("gpiochip0"), 0);
  info.set(new TextEncoder().encode("pinctrl-bcm2711"), 32);
  new DataView(info.buffer).setUint32(64, 58, true);
  assert.deepEqual(decodeChipInfo(info), {
    name: "gpiochip0",
    label: "pinctrl-bcm2711",
    lines: 58,
  });
  assert.throws(() => outputLineRequest(21, "x".repeat(32), 0), RangeError);
});

Deno.test("chardev: no /dev/gpiochip* gives a typed error, not a crash", async () => {
  const dev = await Deno.makeTempDir();
  try {
    assert.throws(
      () => openChardevLine({ gpio: 21, direction: "out", devRoot: dev }),
      (e: Error) =>
        e instanceof GpioBackendError && layerErrorCode(e) === "hardware_fault" &&
        e.message.includes(`${dev}/gpiochip*`),
    );
    await Deno.writeTextFile(`${dev}/gpiochip10`, "");
    await Deno.writeTextFile(`${dev}/gpiochip2`, "");
    await Deno.writeTextFile(`${dev}/gpiomem`, "");
    assert.deepEqual(listGpioChips(dev), [`${dev}/gpiochip2`, `${dev}/gpiochip10`]);
  } finally {
    await Deno.remove(dev, { recursive: true });
  }
});

Deno.test("chardev: a file that is not a GPIO chip is refused with the errno named", async () => {
  const dev = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dev}/gpiochip0`, "");
    // A regular file answers the chip-info ioctl with ENOTTY: it is skipped, then reported.
    assert.throws(
      () => openChardevLine({ gpio: 21, direction: "out", devRoot: dev }),
      (e: Error) => e instanceof GpioBackendError && /gpiochip0=\?/.test(e.message),
    );
    assert.throws(
      () => openChardevLine({ gpio: 21, direction: "out", chip: `${dev}/gpiochip0` }),
      /ENOTTY/,
    );
  } finally {
    await Deno.remove(dev, { recursive: true });
  }
});

Deno.test("open_line: auto with neither interface explains both; sim works anywhere", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        openGpioLine({
          backend: "auto",
          gpio: 21,
          direction: "out",
          devRoot: empty,
          sysfsRoot: empty,
        }),
      (e: Error) =>
        e instanceof GpioBackendError && /chardev/.test(e.message) && /sysfs/.test(e.message),
    );
    const sim = await openGpioLine({ backend: "sim", gpio: 21, direction: "out" });
    await sim.write(1);
    assert.equal(await sim.read(), 1);
    await sim.unexport();
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
