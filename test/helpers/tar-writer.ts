/** A small tar writer for test fixtures: ustar headers, pax records for long names and large ids, raw pax records. */
export interface TarSpec {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  content?: Buffer | string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra pax records written in an `x` header before this entry, verbatim (to make malformed layers). */
  pax?: Record<string, string>;
}

const FLAG = { file: '0', hardlink: '1', symlink: '2', char: '3', dir: '5', fifo: '6' } as const;

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

function header(name: string, flag: string, size: number, s: TarSpec, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(s.mode ?? (flag === '5' ? 0o755 : 0o644), 8), 100, 'ascii');
  h.write(octal(s.uid ?? 0, 8), 108, 'ascii');
  h.write(octal(s.gid ?? 0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(s.mtime ?? 1_700_000_000, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(flag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(octal(s.devmajor ?? 0, 8), 329, 'ascii');
  h.write(octal(s.devminor ?? 0, 8), 337, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function pad(b: Buffer): Buffer[] {
  const r = b.length % 512;
  return r === 0 ? [b] : [b, Buffer.alloc(512 - r)];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
}

function paxHeader(flag: 'x' | 'g', records: string): Buffer[] {
  const pb = Buffer.from(records);
  return [header('PaxHeader', flag, pb.length, { path: '' }, ''), ...pad(pb)];
}

/**
 * Build a tar archive. `endMarker: false` imitates umoci 0.4.7's insert; `globalPax` records go into a `g`
 * header at the start.
 */
export function makeTar(entries: TarSpec[], opts: { endMarker?: boolean; gnuLongNames?: boolean; globalPax?: Record<string, string> } = {}): Buffer {
  const out: Buffer[] = [];
  if (opts.globalPax) out.push(...paxHeader('g', Object.entries(opts.globalPax).map(([k, v]) => paxRecord(k, v)).join('')));
  for (const e of entries) {
    const type = e.type ?? 'file';
    let name = type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const linkname = e.linkname ?? '';
    let pax = Object.entries(e.pax ?? {}).map(([k, v]) => paxRecord(k, v)).join('');
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(linkname) > 100) {
      if (opts.gnuLongNames) {
        const ln = Buffer.from(`${name}\0`);
        out.push(header('././@LongLink', 'L', ln.length, {path: ''}, ''), ...pad(ln));
      } else {
        if (Buffer.byteLength(name) > 100) pax += paxRecord('path', name);
        if (Buffer.byteLength(linkname) > 100) pax += paxRecord('linkpath', linkname);
      }
      name = name.slice(0, 99);
    }
    if (pax) out.push(...paxHeader('x', pax));
    out.push(header(name, FLAG[type], content.length, e, linkname.slice(0, 100)));
    if (content.length) out.push(...pad(content));
  }
  if (opts.endMarker !== false) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
