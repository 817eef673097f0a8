import { layerErrorCode } from "../../../../hub/http/errors.ts";
import assert from "node:assert/strict";
import { HardwareFault } from "../../../../shared/pins/errors.ts";
import {
  openDevI2cBus,
  openDevI2cPath,
  smbusByteData,
} from "../../../../shared/pins/i2c/dev_i2c.ts";
import { cString, libc, O_CLOEXEC, O_RDWR } from "../../../../shared/libc.ts";
import { ERRNO, i2cErrnoError, I2cError } from "../../../../shared/pins/i2c/i2c_error.ts";
import {
  encodeSmbusIoctlData,
  I2C_SMBUS_BYTE_DATA,
  I2C_SMBUS_READ,
  I2C_SMBUS_WRITE,
  SMBUS_DATA_BYTES,
} from "../../../../shared/pins/i2c/smbus.ts";

Deno.test("encodeSmbusIoctlData lays out struct i2c_smbus_ioctl_data byte for byte", () => {
  const read = encodeSmbusIoctlData(I2C_SMBUS_READ, 0x12, I2C_SMBUS_BYTE_DATA, 0x1122334455667788n);
  assert.deepEqual(
    [...read],
    [0x01, 0x12, 0, 0, 0x02, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11],
  );
  const write = encodeSmbusIoctlData(I2C_SMBUS_WRITE, 0x15, I2C_SMBUS_BYTE_DATA, 0x7fff0010n);
  assert.deepEqual(
    [...write],
    [0x00, 0x15, 0, 0, 0x02, 0, 0, 0, 0x10, 0x00, 0xff, 0x7f, 0, 0, 0, 0],
  );
});

Deno.test("opening a missing /dev/i2c-N gives a clear ENOENT I2cError", async () => {
  const err = await openDevI2cBus(249).then(() => null, (e) => e);
  assert.ok(err instanceof I2cError && err instanceof HardwareFault);
  assert.equal(err.errno, ERRNO.ENOENT);
  assert.equal(layerErrorCode(err), "hardware_fault");
  assert.match(err.message, /\/dev\/i2c-249 does not exist/);
  assert.match(err.message, /enable the I2C bus/);
});

Deno.test("a negative bus number is a bad request, not a crash", async () => {
  await assert.rejects(openDevI2cBus(-1), /bus number -1/);
});

Deno.test("I2C_SLAVE ioctl on /dev/null fails with a clear ENOTTY error", async () => {
  const bus = await openDevI2cPath("/dev/null");
  try {
    const err = await bus.readByteData(0x20, 0x12).then(() => null, (e) => e);
    assert.ok(err instanceof I2cError);
    assert.equal(err.errno, ERRNO.ENOTTY);
    assert.equal(err.address, 0x20);
    assert.match(err.message, /select of slave 0x20 failed \(ENOTTY\)/);
    assert.match(err.message, /\/dev\/null is not an I2C adapter/);
    await assert.rejects(bus.writeByteData(0x21, 0x14, 0xff), (e) => e instanceof I2cError);
    await assert.rejects(bus.i2cRead(0x22, 1, new Uint8Array(1)), /ENOTTY/);
  } finally {
    await bus.close();
  }
});

Deno.test("the I2C_SMBUS ioctl runs for real and reports ENOTTY on a non-adapter fd", () => {
  const fd = libc().open(cString("/dev/null"), O_RDWR | O_CLOEXEC);
  assert.ok(fd >= 0);
  try {
    const data = new Uint8Array(SMBUS_DATA_BYTES);
    assert.equal(smbusByteData(fd, I2C_SMBUS_READ, 0x12, data), ERRNO.ENOTTY);
    assert.equal(smbusByteData(fd, I2C_SMBUS_WRITE, 0x14, data), ERRNO.ENOTTY);
    assert.throws(() => smbusByteData(fd, I2C_SMBUS_READ, 0, new Uint8Array(2)), /34 bytes/);
  } finally {
    libc().close(fd);
  }
});

Deno.test("argument errors are reported before any system call", async () => {
  const bus = await openDevI2cPath("/dev/null");
  try {
    await assert.rejects(bus.readByteData(0x80, 0), /not a 7-bit address/);
    await assert.rejects(bus.writeByteData(0x20, 0, 256), /data byte 256 is not a byte/);
    await assert.rejects(bus.readByteData(0x20, -1), /register -1 is not a byte/);
    await assert.rejects(bus.i2cWrite(0x20, 4, new Uint8Array(2)), /does not fit/);
  } finally {
    await bus.close();
  }
  await assert.rejects(bus.readByteData(0x20, 0), /is closed/);
  await bus.close(); // idempotent
});

Deno.test("errno messages say what to do", () => {
  const ctx = { path: "/dev/i2c-1", operation: "read of register 0x12 of 0x20", address: 0x20 };
  assert.match(i2cErrnoError(ERRNO.EACCES, ctx).message, /"i2c" group/);
  assert.match(i2cErrnoError(ERRNO.EREMOTEIO, ctx).message, /no ACK from the device at 0x20/);
  assert.match(i2cErrnoError(ERRNO.ENXIO, ctx).message, /no ACK/);
  assert.match(i2cErrnoError(ERRNO.EBUSY, ctx).message, /claimed by a kernel driver/);
  assert.match(i2cErrnoError(ERRNO.ETIMEDOUT, ctx).message, /timed out/);
  assert.match(i2cErrnoError(999, ctx).message, /errno 999/);
});
