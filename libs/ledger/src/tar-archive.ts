/** One regular file of an archive. */
export interface ArchiveFile {
  path: string;
  content: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/**
 * ustar name and prefix of a path: the name field holds 99 bytes; a longer path is split at a '/'
 * into a prefix (up to 155 bytes) and the rest (escrow documents: `escrow/<ceremony>/reconstructions/<id>.json`).
 */
function splitPath(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 99) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 99 && name.length > 0) return { name, prefix };
  }
  return undefined;
}

function header(path: string, size: number, mtimeSeconds: number): Buffer {
  const split = splitPath(path);
  if (!split || path.startsWith('/') || path.split('/').includes('..')) throw new TypeError(`unsafe or long archive path: ${path}`);
  const h = Buffer.alloc(BLOCK, 0);
  h.write(split.name, 0, 'utf8');
  if (split.prefix) h.write(split.prefix, 345, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtimeSeconds, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/**
 * A POSIX ustar archive of regular files, deterministic: fixed mode, owner and the given mtime, so the
 * same bundle always gives the same bytes.
 */
export function writeTar(files: readonly ArchiveFile[], mtime: Date): Buffer {
  const seconds = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(header(f.path, f.content.length, seconds), f.content);
    const pad = (BLOCK - (f.content.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

/** Read the regular files of a ustar archive. Throws TypeError on a malformed archive. */
export function readTar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + BLOCK <= archive.length) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) break;
    const stored = parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]/g, ''), 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    if (stored !== sum) throw new TypeError(`archive header at byte ${offset} has a bad checksum`);
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const prefix = h.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    const size = parseInt(h.toString('ascii', 124, 136).replace(/[\0 ]/g, ''), 8);
    const type = String.fromCharCode(h[156]);
    offset += BLOCK;
    if (!Number.isSafeInteger(size) || offset + size > archive.length) throw new TypeError(`archive entry ${name} is truncated`);
    const path = prefix ? `${prefix}/${name}` : name;
    if (type === '0' || type === '\0') files.set(path, Buffer.from(archive.subarray(offset, offset + size)));
    offset += Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
