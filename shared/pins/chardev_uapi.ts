/**
 * The GPIO character device v2 uAPI (linux/gpio.h), encoded byte for byte. Pure: builds and
 * reads the structs as little-endian bytes (every Pi and x86_64 is little-endian), with the
 * offsets and sizes spelled out. Checked against the kernel header in the tests.
 */

/** GPIO_MAX_NAME_SIZE */
export const GPIO_MAX_NAME_SIZE = 32;
/** GPIO_V2_LINES_MAX */
export const GPIO_V2_LINES_MAX = 64;
/** GPIO_V2_LINE_NUM_ATTRS_MAX */
export const GPIO_V2_LINE_NUM_ATTRS_MAX = 10;

/** enum gpio_v2_line_flag (the ones we use). */
export const GPIO_V2_LINE_FLAG = {
  USED: 1n << 0n,
  ACTIVE_LOW: 1n << 1n,
  INPUT: 1n << 2n,
  OUTPUT: 1n << 3n,
} as const;

/** enum gpio_v2_line_attr_id */
export const GPIO_V2_LINE_ATTR_ID = { FLAGS: 1, OUTPUT_VALUES: 2, DEBOUNCE: 3 } as const;

/** Sizes of the structs, bytes. */
export const SIZEOF = {
  gpiochip_info: 68,
  gpio_v2_line_attribute: 16,
  gpio_v2_line_config_attribute: 24,
  gpio_v2_line_config: 272,
  gpio_v2_line_request: 592,
  gpio_v2_line_values: 16,
} as const;

/** Field offsets, bytes. */
export const OFFSETOF = {
  gpiochip_info: { name: 0, label: 32, lines: 64 },
  gpio_v2_line_attribute: { id: 0, padding: 4, value: 8 },
  gpio_v2_line_config_attribute: { attr: 0, mask: 16 },
  gpio_v2_line_config: { flags: 0, num_attrs: 8, padding: 12, attrs: 32 },
  gpio_v2_line_request: {
    offsets: 0,
    consumer: 256,
    config: 288,
    num_lines: 560,
    event_buffer_size: 564,
    padding: 568,
    fd: 588,
  },
  gpio_v2_line_values: { bits: 0, mask: 8 },
} as const;

/** _IOC(dir, type, nr, size) of asm-generic/ioctl.h (arm, arm64, x86). */
function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) >>> 0) + ((size << 16) | (type << 8) | nr);
}
const IOC_READ = 2;
const IOC_WRITE = 1;
const GPIO_IOCTL_TYPE = 0xb4;

/** ioctl request numbers. */
export const IOCTL = {
  GPIO_GET_CHIPINFO_IOCTL: ioc(IOC_READ, GPIO_IOCTL_TYPE, 0x01, SIZEOF.gpiochip_info),
  GPIO_V2_GET_LINE_IOCTL: ioc(
    IOC_READ | IOC_WRITE,
    GPIO_IOCTL_TYPE,
    0x07,
    SIZEOF.gpio_v2_line_request,
  ),
  GPIO_V2_LINE_GET_VALUES_IOCTL: ioc(
    IOC_READ | IOC_WRITE,
    GPIO_IOCTL_TYPE,
    0x0e,
    SIZEOF.gpio_v2_line_values,
  ),
  GPIO_V2_LINE_SET_VALUES_IOCTL: ioc(
    IOC_READ | IOC_WRITE,
    GPIO_IOCTL_TYPE,
    0x0f,
    SIZEOF.gpio_v2_line_values,
  ),
} as const;

/** One entry of gpio_v2_line_config.attrs. */
export interface LineConfigAttribute {
  /** GPIO_V2_LINE_ATTR_ID_* */
  id: number;
  /** flags or output values (a bitmap over the requested lines) or debounce period in µs. */
  value: bigint;
  /** Which requested lines (bit i = offsets[i]) the attribute applies to. */
  mask: bigint;
}

/** What a line request asks for. */
export interface LineRequestSpec {
  /** Chip-relative line offsets (BCM numbers on the Pi's main chip). */
  offsets: number[];
  /** Consumer label shown by gpioinfo (at most 31 bytes). */
  consumer: string;
  /** GPIO_V2_LINE_FLAG_* for all lines. */
  flags: bigint;
  attrs?: LineConfigAttribute[];
  eventBufferSize?: number;
}

function writeCString(bytes: Uint8Array, at: number, text: string, size: number): void {
  const encoded = new TextEncoder().encode(text);
  if (encoded.length >= size) throw new RangeError(`"${text}" is longer than ${size - 1} bytes`);
  bytes.set(encoded, at);
}

/** Writes gpio_v2_line_attribute at `at`. */
function writeAttribute(view: DataView, at: number, a: LineConfigAttribute): void {
  const o = OFFSETOF.gpio_v2_line_attribute;
  view.setUint32(at + o.id, a.id, true);
  view.setUint32(at + o.padding, 0, true);
  if (a.id === GPIO_V2_LINE_ATTR_ID.DEBOUNCE) {
    view.setUint32(at + o.value, Number(a.value), true);
  } else {
    view.setBigUint64(at + o.value, a.value, true);
  }
}

/** Encodes struct gpio_v2_line_config into `bytes` at `at` (zeroed beforehand). */
export function writeLineConfig(
  bytes: Uint8Array,
  at: number,
  flags: bigint,
  attrs: LineConfigAttribute[],
): void {
  if (attrs.length > GPIO_V2_LINE_NUM_ATTRS_MAX) {
    throw new RangeError(`at most ${GPIO_V2_LINE_NUM_ATTRS_MAX} attributes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const o = OFFSETOF.gpio_v2_line_config;
  view.setBigUint64(at + o.flags, flags, true);
  view.setUint32(at + o.num_attrs, attrs.length, true);
  attrs.forEach((a, i) => {
    const base = at + o.attrs + i * SIZEOF.gpio_v2_line_config_attribute;
    writeAttribute(view, base + OFFSETOF.gpio_v2_line_config_attribute.attr, a);
    view.setBigUint64(base + OFFSETOF.gpio_v2_line_config_attribute.mask, a.mask, true);
  });
}

/** Encodes struct gpio_v2_line_request (592 bytes); `fd` starts at 0, set by the kernel. */
export function encodeLineRequest(spec: LineRequestSpec): Uint8Array {
  if (spec.offsets.length < 1 || spec.offsets.length > GPIO_V2_LINES_MAX) {
    throw new RangeError(`a request holds 1 to ${GPIO_V2_LINES_MAX} lines`);
  }
  const bytes = new Uint8Array(SIZEOF.gpio_v2_line_request);
  const view = new DataView(bytes.buffer);
  const o = OFFSETOF.gpio_v2_line_request;
  spec.offsets.forEach((off, i) => view.setUint32(o.offsets + 4 * i, off, true));
  writeCString(bytes, o.consumer, spec.consumer, GPIO_MAX_NAME_SIZE);
  writeLineConfig(bytes, o.config, spec.flags, spec.attrs ?? []);
  view.setUint32(o.num_lines, spec.offsets.length, true);
  view.setUint32(o.event_buffer_size, spec.eventBufferSize ?? 0, true);
  return bytes;
}

/** The line fd the kernel wrote into a gpio_v2_line_request. */
export function decodeLineRequestFd(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getInt32(
    OFFSETOF.gpio_v2_line_request.fd,
    true,
  );
}

/** Encodes struct gpio_v2_line_values (16 bytes). */
export function encodeLineValues(bits: bigint, mask: bigint): Uint8Array {
  const bytes = new Uint8Array(SIZEOF.gpio_v2_line_values);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(OFFSETOF.gpio_v2_line_values.bits, bits, true);
  view.setBigUint64(OFFSETOF.gpio_v2_line_values.mask, mask, true);
  return bytes;
}

/** The `bits` of a gpio_v2_line_values. */
export function decodeLineValuesBits(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(
    OFFSETOF.gpio_v2_line_values.bits,
    true,
  );
}

/** name / label / lines of a struct gpiochip_info. */
export function decodeChipInfo(bytes: Uint8Array): { name: string; label: string; lines: number } {
  const o = OFFSETOF.gpiochip_info;
  const str = (at: number) => {
    const field = bytes.subarray(at, at + GPIO_MAX_NAME_SIZE);
    const end = field.indexOf(0);
    return new TextDecoder().decode(field.subarray(0, end === -1 ? field.length : end));
  };
  const lines = new DataView(bytes.buffer, bytes.byteOffset).getUint32(o.lines, true);
  return { name: str(o.name), label: str(o.label), lines };
}

/** The request for one output line driven to `initial` from the start. */
export function outputLineRequest(offset: number, consumer: string, initial: 0 | 1): Uint8Array {
  return encodeLineRequest({
    offsets: [offset],
    consumer,
    flags: GPIO_V2_LINE_FLAG.OUTPUT,
    attrs: [{ id: GPIO_V2_LINE_ATTR_ID.OUTPUT_VALUES, value: BigInt(initial), mask: 1n }],
  });
}

/** The request for one input line. */
export function inputLineRequest(offset: number, consumer: string): Uint8Array {
  return encodeLineRequest({ offsets: [offset], consumer, flags: GPIO_V2_LINE_FLAG.INPUT });
}
