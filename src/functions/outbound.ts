/**
 * Which addresses a function may reach, in workerd's `Network.allow` vocabulary, so that an mTLS binding
 * (whose requests our egress server makes) obeys the same list as the function's plain `fetch()`:
 * `public`, `private` (RFC 1918, CGNAT, link-local, unique-local, loopback: a superset of `local`),
 * `local` (loopback), `network` (anything but loopback), and CIDR blocks.
 */
import { BlockList, isIP } from "node:net";

const PRIVATE: [string, number, "ipv4" | "ipv6"][] = [
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
];
const LOCAL: [string, number, "ipv4" | "ipv6"][] = [
  ["127.0.0.0", 8, "ipv4"],
  ["::1", 128, "ipv6"],
];

function blockList(ranges: [string, number, "ipv4" | "ipv6"][]): BlockList {
  const list = new BlockList();
  for (const [address, prefix, type] of ranges) list.addSubnet(address, prefix, type);
  return list;
}

const privateList = blockList(PRIVATE);
const localList = blockList(LOCAL);

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is judged as the IPv4 address it carries. */
function normalize(address: string): { address: string; type: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1] as string, type: "ipv4" };
  return { address, type: isIP(address) === 6 ? "ipv6" : "ipv4" };
}

/** A predicate on IP addresses for an allow list; unknown entries are refused when the list is built. */
export function addressPolicy(allow: readonly string[]): (address: string) => boolean {
  const cidrs = new BlockList();
  const checks: ((address: string, type: "ipv4" | "ipv6") => boolean)[] = [];
  for (const entry of allow) {
    if (entry === "public") checks.push((a, t) => !privateList.check(a, t));
    else if (entry === "private") checks.push((a, t) => privateList.check(a, t));
    else if (entry === "local") checks.push((a, t) => localList.check(a, t));
    else if (entry === "network") checks.push((a, t) => !localList.check(a, t));
    else {
      const [address = "", prefix] = entry.split("/");
      const family = isIP(address);
      const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
      if (!family || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32))
        throw new Error(`"${entry}" is not public, private, local, network or a CIDR block`);
      cidrs.addSubnet(address, bits, family === 6 ? "ipv6" : "ipv4");
      if (!checks.includes(checkCidr)) checks.push(checkCidr);
    }
  }
  function checkCidr(address: string, type: "ipv4" | "ipv6"): boolean {
    return cidrs.check(address, type);
  }
  return (raw) => {
    const { address, type } = normalize(raw);
    return checks.some((check) => check(address, type));
  };
}
