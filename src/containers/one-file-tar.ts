/**
 * A tar archive of one regular file (ustar), for the guest's copy-in: how the manager rewrites a file inside
 * a running container without a shell in its image.
 * @module
 */

const BLOCK = 512;

const octal = (n: number, len: number) => `${n.toString(8).padStart(len - 1, '0')}\0`;

/** `name` (a plain file name of at most 100 bytes) holding `content`, root's, with `mode`. */
export function oneFileTar(name: string, content: string | Buffer, mode = 0o644): Buffer {
  const body = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(body.length, 12), 124, 'ascii');
  h.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
  // two zero blocks end the archive
  return Buffer.concat([h, body, Buffer.alloc(padding + 2 * BLOCK)]);
}
