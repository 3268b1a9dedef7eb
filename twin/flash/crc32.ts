// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) with the ESP32 ROM's
// calling convention: esp_rom_crc32_le(crc, buf, len) inverts `crc` on entry and
// the result on exit (ESP-IDF components/esp_rom/linux/esp_rom_crc.c, the host
// build of the ROM function). otadata uses esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4)
// (components/bootloader_support/src/bootloader_common.c), which is what
// Python's binascii.crc32(data, 0xFFFFFFFF) computes too (ESP-IDF otatool.py).

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** esp_rom_crc32_le(crc, bytes, bytes.length). */
export function crc32Le(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
