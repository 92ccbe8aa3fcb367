// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0.
// Check value for the ASCII bytes "123456789" is 0x29B1.

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

// Two bytes per step: with a 16-bit register, the state after two more bytes depends only on
// crc ^ (b0 << 8 | b1), i.e. on 16 zero bits clocked through from that value. 128 KiB, built lazily.
let TABLE2: Uint16Array | undefined;
function table2(): Uint16Array {
  if (TABLE2) return TABLE2;
  const t = new Uint16Array(65536);
  for (let x = 0; x < 65536; x++) {
    const hi = TABLE[x >> 8] ^ ((x & 0xff) << 8);
    t[x] = ((hi << 8) & 0xffff) ^ TABLE[hi >> 8];
  }
  return (TABLE2 = t);
}

export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  let i = start;
  if (end - start >= 64) {
    const t2 = table2();
    for (; i + 1 < end; i += 2) crc = t2[crc ^ ((bytes[i] << 8) | bytes[i + 1])];
  }
  for (; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/**
 * CRC of bytes[0, end) plus, in bit 16, whether any byte is >= 0x80: one pass serves the frame check
 * and tells whether the payload is pure ASCII (then it needs no UTF-8 validation).
 */
export function crc16AndHighBit(bytes: Uint8Array, end: number): number {
  let crc = 0xffff;
  let high = 0;
  let i = 0;
  if (end >= 64) {
    const t2 = table2();
    for (; i + 1 < end; i += 2) {
      const b0 = bytes[i];
      const b1 = bytes[i + 1];
      high |= b0 | b1;
      crc = t2[crc ^ ((b0 << 8) | b1)];
    }
  }
  for (; i < end; i++) {
    const b = bytes[i];
    high |= b;
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff];
  }
  return crc | ((high & 0x80) << 9);
}

/** CRC over the UTF-8 encoding of a string, without allocating for pure-ASCII input (the common case). */
export function crc16String(s: string): number {
  let crc = 0xffff;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return crc16(Buffer.from(s, "utf8"));
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ c) & 0xff];
  }
  return crc;
}

export function crcHex(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, "0");
}
