/**
 * IP addresses for `ip.src`: parsing (IPv4, IPv6, IPv4-mapped IPv6 as IPv4), CIDRs and ranges, and a
 * sorted, merged interval list per family so that `ip.src in {…}` is a binary search however large
 * the set.
 */
import { isIPv6 } from "node:net";

export type Ip = { readonly v: 4; readonly n: number } | { readonly v: 6; readonly n: bigint };

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): number | null {
  const m = V4.exec(text);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    if (part.length > 1 && part.startsWith("0")) return null; // no octal look-alikes
    const b = Number(part);
    if (b > 255) return null;
    n = n * 256 + b;
  }
  return n;
}

const MAPPED = 0xffffn << 32n;
const MAPPED_END = MAPPED | 0xffffffffn;

/** Parses an address; IPv4-mapped IPv6 (`::ffff:192.0.2.1`, as Node reports dual-stack peers) is IPv4. */
export function parseIp(text: string): Ip | null {
  const ip = parseRawIp(text);
  if (ip?.v === 6 && ip.n >= MAPPED && ip.n <= MAPPED_END) return { v: 4, n: Number(ip.n - MAPPED) };
  return ip;
}

/** Parses an address as written (an IPv4-mapped IPv6 address stays IPv6). */
function parseRawIp(text: string): Ip | null {
  const v4 = parseV4(text);
  if (v4 !== null) return { v: 4, n: v4 };
  if (!isIPv6(text) || text.includes("%")) return null;
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const embedded = parseV4(text.slice(lastColon + 1));
    if (embedded === null) return null;
    tail = [embedded >>> 16, embedded & 0xffff];
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith("::")) head = head.slice(0, -1);
  }
  const [left = "", right] = head.split("::") as [string, string | undefined];
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const fill = 8 - l.length - r.length - tail.length;
  if (fill < 0) return null;
  const all =
    right === undefined ? [...l, ...tail] : [...l, ...new Array<number>(fill).fill(0), ...r, ...tail];
  if (all.length !== 8) return null;
  let n = 0n;
  for (const g of all) n = (n << 16n) | BigInt(g);
  return { v: 6, n };
}

/** Single-entry cache: a request's address is parsed once however many rules read it. */
let lastText = "";
let lastIp: Ip | null = null;
export function requestIp(text: string): Ip | null {
  if (typeof text !== "string") return null;
  if (text !== lastText) {
    lastIp = parseIp(text);
    lastText = text;
  }
  return lastIp;
}

export function sameIp(a: Ip, b: Ip): boolean {
  return a.v === b.v && a.n === b.n;
}

/** An inclusive range of one family. */
export type IpInterval = { v: 4; lo: number; hi: number } | { v: 6; lo: bigint; hi: bigint };

/**
 * The intervals of an IPv6 range: itself, plus the IPv4 addresses of the part that overlaps the
 * IPv4-mapped block ::ffff:0:0/96 (an IPv4 client is also ::ffff:a.b.c.d, as for Node's BlockList).
 */
function v6Intervals(lo: bigint, hi: bigint): IpInterval[] {
  const out: IpInterval[] = [{ v: 6, lo, hi }];
  const from = lo > MAPPED ? lo : MAPPED;
  const to = hi < MAPPED_END ? hi : MAPPED_END;
  if (from <= to) out.push({ v: 4, lo: Number(from - MAPPED), hi: Number(to - MAPPED) });
  return out;
}

/** `a.b.c.d/n` or `x::/n` as intervals; a string describing the problem when invalid. */
export function parseCidr(text: string): IpInterval[] | string {
  const slash = text.indexOf("/");
  const base = parseRawIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!base) return `"${text.slice(0, slash)}" is not an IP address`;
  if (!/^\d{1,3}$/.test(bitsText)) return `"${bitsText}" is not a prefix length`;
  const bits = Number(bitsText);
  const width = base.v === 4 ? 32 : 128;
  if (bits > width) return `prefix length /${bits} is out of range for this address`;
  if (base.v === 4) {
    const size = 2 ** (32 - bits);
    const lo = Math.floor(base.n / size) * size;
    return [{ v: 4, lo, hi: lo + size - 1 }];
  }
  const hostBits = BigInt(128 - bits);
  const lo = (base.n >> hostBits) << hostBits;
  return v6Intervals(lo, lo | ((1n << hostBits) - 1n));
}

/** `a..b` as intervals; a string describing the problem when invalid. */
export function parseIpRange(from: string, to: string): IpInterval[] | string {
  const lo = parseRawIp(from);
  const hi = parseRawIp(to);
  if (!lo || !hi) return "expected address..address";
  if (lo.v !== hi.v) return "both ends must be IPv4 or both IPv6";
  if (lo.n > hi.n) return "the start is above the end";
  return lo.v === 4 ? [{ v: 4, lo: lo.n, hi: hi.n as number }] : v6Intervals(lo.n, hi.n as bigint);
}

/** The intervals of one address as written. */
export function parseIpPoint(text: string): IpInterval[] | null {
  const ip = parseRawIp(text);
  if (!ip) return null;
  return ip.v === 4 ? [{ v: 4, lo: ip.n, hi: ip.n }] : v6Intervals(ip.n, ip.n);
}

interface Merged<T> {
  lo: T[];
  hi: T[];
}

function merge<T extends number | bigint>(list: { lo: T; hi: T }[], succ: (x: T) => T): Merged<T> {
  list.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Merged<T> = { lo: [], hi: [] };
  for (const r of list) {
    const last = out.hi.length - 1;
    if (last >= 0 && r.lo <= succ(out.hi[last] as T)) {
      if (r.hi > (out.hi[last] as T)) out.hi[last] = r.hi;
    } else {
      out.lo.push(r.lo);
      out.hi.push(r.hi);
    }
  }
  return out;
}

function search<T extends number | bigint>(m: Merged<T>, x: T): boolean {
  let lo = 0;
  let hi = m.lo.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (x < (m.lo[mid] as T)) hi = mid - 1;
    else if (x > (m.hi[mid] as T)) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Membership test over any mix of addresses, CIDRs and ranges. */
export function ipSetMatcher(intervals: readonly IpInterval[]): (ip: Ip) => boolean {
  const v4: { lo: number; hi: number }[] = [];
  const v6: { lo: bigint; hi: bigint }[] = [];
  for (const i of intervals) {
    if (i.v === 4) v4.push({ lo: i.lo, hi: i.hi });
    else v6.push({ lo: i.lo, hi: i.hi });
  }
  const m4 = merge(v4, (x) => x + 1);
  const m6 = merge(v6, (x) => x + 1n);
  return (ip) => (ip.v === 4 ? search(m4, ip.n) : search(m6, ip.n));
}

/** Membership test over integer values and inclusive ranges (`{80 443 8000..8080}`). */
export function numberSetMatcher(ranges: readonly { lo: number; hi: number }[]): (x: number) => boolean {
  const merged = merge([...ranges], (x) => x + 1);
  return (x) => search(merged, x);
}
