/**
 * The Linux `I2C_SMBUS` ioctl's argument, `struct i2c_smbus_ioctl_data`, encoded byte for
 * byte (64-bit little-endian ABI: x86_64, aarch64), from <linux/i2c-dev.h> and <linux/i2c.h>:
 *
 * ```c
 * struct i2c_smbus_ioctl_data {   // offset
 *   __u8 read_write;              // 0
 *   __u8 command;                 // 1   (2 bytes padding)
 *   __u32 size;                   // 4
 *   union i2c_smbus_data *data;   // 8   (16 bytes in all)
 * };
 * union i2c_smbus_data { __u8 byte; __u16 word; __u8 block[34]; };
 * ```
 */

/** `ioctl` request: set the slave address for following read()/write() calls. */
export const I2C_SLAVE = 0x0703;
/** `ioctl` request: one SMBus transfer described by `struct i2c_smbus_ioctl_data`. */
export const I2C_SMBUS = 0x0720;
/** `read_write` value for an SMBus read. */
export const I2C_SMBUS_READ = 1;
/** `read_write` value for an SMBus write. */
export const I2C_SMBUS_WRITE = 0;
/** `size` value of a byte-data transfer (command byte plus one data byte). */
export const I2C_SMBUS_BYTE_DATA = 2;
/** Bytes in `union i2c_smbus_data` (I2C_SMBUS_BLOCK_MAX + 2). */
export const SMBUS_DATA_BYTES = 34;
/** Bytes in `struct i2c_smbus_ioctl_data` on a 64-bit ABI. */
export const SMBUS_IOCTL_DATA_BYTES = 16;

/** Encodes `struct i2c_smbus_ioctl_data`; `dataAddress` is the address of the data union. */
export function encodeSmbusIoctlData(
  readWrite: number,
  command: number,
  size: number,
  dataAddress: bigint,
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(SMBUS_IOCTL_DATA_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, readWrite);
  view.setUint8(1, command);
  view.setUint32(4, size, true);
  view.setBigUint64(8, dataAddress, true);
  return bytes;
}
