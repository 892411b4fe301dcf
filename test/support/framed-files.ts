import fs from 'node:fs';

/** Record start offsets and ends of a framed file ([u32le len][u32le crc][payload]…). */
export function recordBounds(file: string): { start: number; end: number }[] {
  const buf = fs.readFileSync(file);
  const out: { start: number; end: number }[] = [];
  let pos = 0;
  while (pos + 8 <= buf.length) {
    const end = pos + 8 + buf.readUInt32LE(pos);
    if (end > buf.length) break;
    out.push({ start: pos, end });
    pos = end;
  }
  return out;
}

/** Damage one byte of a file in place (XOR with mask). */
export function flipByte(file: string, offset: number, mask = 0xff): void {
  const buf = fs.readFileSync(file);
  buf[offset] = buf[offset]! ^ mask;
  fs.writeFileSync(file, buf);
}
