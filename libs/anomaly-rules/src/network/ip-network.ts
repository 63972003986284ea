/** An IP address as a number: IPv4 in 32 bits, IPv6 in 128; IPv4-mapped IPv6 counts as IPv4. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

function parseIpv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(s: string): bigint | null {
  let text = s;
  // A trailing dotted quad (::ffff:10.0.0.1) is two 16-bit groups.
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (g: string): bigint | null => (/^[0-9a-fA-F]{1,4}$/.test(g) ? BigInt(`0x${g}`) : null);
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':').map(group);
  const rest = halves.length === 2 && halves[1] !== '' ? (halves[1] ?? '').split(':').map(group) : [];
  if (head.includes(null) || rest.includes(null)) return null;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const groups = [...(head as bigint[]), ...Array<bigint>(8 - known).fill(0n), ...(rest as bigint[])];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parse "10.1.2.3" or "2001:db8::1" (IPv4-mapped IPv6 becomes IPv4). */
export function parseIp(s: string): IpAddress | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIpv6(s);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/**
 * The IP of a gRPC peer as the audit record stores it: "ipv4:127.0.0.1:53422",
 * "ipv6:[::1]:53422", or a bare address. Null for unix sockets and unparseable values.
 */
export function sourceIp(sourceAddress: string | undefined): string | null {
  if (!sourceAddress) return null;
  let s = sourceAddress;
  if (s.startsWith('ipv4:')) s = s.slice(5).replace(/:\d+$/, '');
  else if (s.startsWith('ipv6:')) s = s.slice(5).replace(/^\[(.*)\](:\d+)?$/, '$1');
  else if (s.startsWith('[')) s = s.replace(/^\[(.*)\](:\d+)?$/, '$1');
  else if (/^[\d.]+:\d+$/.test(s)) s = s.replace(/:\d+$/, '');
  return parseIp(s) ? s : null;
}

/** A parsed CIDR block. */
export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

/** Parse "10.0.0.0/8" or "2001:db8::/32"; a bare address is a /32 or /128. */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, extra] = text.split('/');
  if (addr === undefined || extra !== undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const bits = ip.family === 4 ? 32 : 128;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return null;
  const prefix = len === undefined ? bits : Number(len);
  // IPv4-mapped IPv6 blocks (::ffff:0:0/96 + n) are stored as IPv4 blocks.
  const effective = ip.family === 4 && addr.includes(':') ? prefix - 96 : prefix;
  if (effective < 0 || effective > bits) return null;
  const mask = effective === 0 ? 0n : ((1n << BigInt(effective)) - 1n) << BigInt(bits - effective);
  return { family: ip.family, network: ip.value & mask, prefix: effective };
}

/** Whether a string is a valid CIDR block. */
export function isValidCidr(text: string): boolean {
  return parseCidr(text) !== null;
}

/** Whether an address lies in a block. */
export function cidrContains(block: Cidr, ip: IpAddress): boolean {
  if (block.family !== ip.family) return false;
  const bits = ip.family === 4 ? 32 : 128;
  const mask = block.prefix === 0 ? 0n : ((1n << BigInt(block.prefix)) - 1n) << BigInt(bits - block.prefix);
  return (ip.value & mask) === block.network;
}

/** Network -> region lookup by longest prefix. */
export class RegionMap {
  private readonly blocks: Array<{ block: Cidr; region: string }>;
  private readonly cache = new Map<string, string>();

  constructor(
    networks: ReadonlyArray<{ cidr: string; region: string }>,
    private readonly defaultRegion: string,
  ) {
    this.blocks = networks
      .map((n) => ({ block: parseCidr(n.cidr), region: n.region }))
      .filter((n): n is { block: Cidr; region: string } => n.block !== null)
      .sort((a, b) => b.block.prefix - a.block.prefix);
  }

  /** Region of an IP (memoised: the same callers come back all day). */
  regionOf(ipText: string): string {
    const hit = this.cache.get(ipText);
    if (hit !== undefined) return hit;
    const ip = parseIp(ipText);
    const region = (ip && this.blocks.find((b) => cidrContains(b.block, ip))?.region) ?? this.defaultRegion;
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(ipText, region);
    return region;
  }
}
