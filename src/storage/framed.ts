import fs from 'node:fs';
import path from 'node:path';
import CRC32 from 'crc-32';
import { decode } from '../transport/codec.ts';

/**
 * The record framing every durable file of Shoal uses (Raft log, translog, engine commit points):
 * `[u32 LE length][u32 LE crc32(payload)][payload]`, plus the fsync and atomic-replace helpers.
 */
export const RECORD_HEADER = 8;

/** CRC-32 of `data`; with `seed` (a previous crc), of the previous bytes followed by `data`. */
export function crc(data: Uint8Array, seed?: number): number {
  return CRC32.buf(data, seed) >>> 0;
}

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc(payload), 4);
  out.set(payload, RECORD_HEADER);
  return out;
}

/** The payload of a file holding exactly one framed record, or a reason it is not valid. */
export function unframeSingle(buf: Buffer): Uint8Array | string {
  if (buf.length < RECORD_HEADER) return `only ${buf.length} bytes`;
  const len = buf.readUInt32LE(0);
  if (RECORD_HEADER + len !== buf.length) return `length ${len} does not match file size ${buf.length}`;
  const payload = buf.subarray(RECORD_HEADER);
  if (crc(payload) !== buf.readUInt32LE(4)) return 'crc mismatch';
  return payload;
}

export function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replace `dir/name` with one framed record, atomically: tmp file, fsync, rename, fsync the directory. */
export function writeAtomic(dir: string, name: string, payload: Uint8Array, tmpName = `${name}.tmp`): void {
  writeAtomicChunks(dir, name, [frame(payload)], tmpName);
}

/** Replace `dir/name` with the concatenation of `chunks`, atomically (as writeAtomic). */
export function writeAtomicChunks(dir: string, name: string, chunks: readonly Uint8Array[], tmpName = `${name}.tmp`): void {
  const final = path.join(dir, name);
  const tmp = path.join(dir, tmpName);
  const fd = fs.openSync(tmp, 'w');
  try {
    let at = 0;
    for (const chunk of chunks) {
      writeFully(fd, chunk, at);
      at += chunk.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, final);
  fsyncDir(dir);
}

/**
 * The decoded value of a file written by writeAtomic; undefined when the file does not exist.
 * Damage throws, naming the file (`who` says which store the error comes from).
 */
export function readAtomic(file: string, who: string): unknown {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const payload = unframeSingle(buf);
  if (typeof payload === 'string') throw new Error(`${who}: ${file} is corrupt: ${payload}`);
  try {
    return decode(payload);
  } catch {
    throw new Error(`${who}: ${file} is corrupt: undecodable payload`);
  }
}
