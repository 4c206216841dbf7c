/**
 * The Redis Cluster hash slot of a key or shard channel name: CRC16
 * (XMODEM: polynomial 0x1021, initial value 0) of its UTF-8 bytes, modulo
 * 16384. When the name holds a `{` followed later by a `}` with at least one
 * byte between them, only those bytes are hashed (a hash tag), as Redis does.
 */
const SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** The slot Redis Cluster serves `name` from. */
export function keySlot(name: string): number {
  const bytes = Buffer.from(name, 'utf8');
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  return crc16(bytes, start, end) % SLOTS;
}
