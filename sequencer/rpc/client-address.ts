/**
 * Who a request comes from, for rate limiting and logs: the client's IP address, never anything about
 * the connection (a client opens as many as it likes) and never a header the client could write.
 *
 * Behind a reverse proxy every request arrives from the proxy's address. Only when the TCP peer is one
 * of the configured trusted proxies is X-Forwarded-For read, and then from the right: each trusted
 * proxy appends the address it received the request from, so the entries on the right were written by
 * proxies we trust, and the right-most entry that is not a trusted proxy is the address that connected
 * to the first of them: the client. Everything left of it came with the request and may be invented.
 * (The left-most entry, which many frameworks take, is exactly the one a client chooses.)
 */
import { BlockList, isIP } from "node:net";

/** A parsed trusted-proxy entry: one address, or a CIDR block. */
interface ProxyEntry {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** The entry `10.0.0.0/8`, `fd00::/8` or a single address, or undefined when it is none of these. */
export function parseProxyEntry(entry: string): ProxyEntry | undefined {
  const [rawAddress, rawPrefix, ...rest] = entry.trim().split("/");
  if (rawAddress === undefined || rest.length > 0) return undefined;
  const address = normalizeAddress(rawAddress);
  if (address === undefined) return undefined;
  const family = isIP(address) === 4 ? "ipv4" : "ipv6";
  const max = family === "ipv4" ? 32 : 128;
  if (rawPrefix === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(rawPrefix) || Number(rawPrefix) > max) return undefined;
  return { address, prefix: Number(rawPrefix), family };
}

/** Addresses and CIDR blocks as one set; throws on an entry that is neither, naming it as `what`. */
export function addressBlocks(entries: readonly string[], what = "address"): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const parsed = parseProxyEntry(entry);
    if (parsed === undefined) throw new Error(`${what} "${entry}" is not an IP address or a CIDR block`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

/** The trusted proxies as one set; throws on an entry that is neither an address nor a CIDR block. */
export const trustedProxies = (entries: readonly string[]): BlockList => addressBlocks(entries, "trusted proxy");

/**
 * An address as one spelling: lower case, without an IPv6 zone, an IPv4-mapped IPv6 address as its
 * IPv4 address (a dual-stack socket reports IPv4 clients so), and without the brackets or port some
 * proxies add to X-Forwarded-For. Undefined when it is not an IP address.
 */
export function normalizeAddress(raw: string): string | undefined {
  let a = raw.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed !== null) a = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped !== null) a = mapped[1]!;
  return isIP(a) === 0 ? undefined : a;
}

/**
 * The client's address: the TCP peer's, or, when the peer is a trusted proxy, the right-most
 * X-Forwarded-For entry that is not (the left-most entry when all are trusted). An entry that is not
 * an address stops the walk at the trusted hop that passed it on.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: BlockList | undefined,
): string {
  let client = (peer === undefined ? undefined : normalizeAddress(peer)) ?? "unknown";
  if (trusted === undefined || forwardedFor === undefined || !isListed(trusted, client)) return client;
  const hops = (typeof forwardedFor === "string" ? forwardedFor : forwardedFor.join(",")).split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (hop === undefined) break;
    client = hop;
    if (!isListed(trusted, hop)) break;
  }
  return client;
}

/** Whether `address` (normalised) is in `list`. */
export function isListed(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The rate-limit bucket of an address: an IPv4 address is its own; an IPv6 address shares its /64
 * with its network, which is what one subscriber or host is given (keying on the whole address would
 * hand a single host 2^64 buckets).
 */
export function rateLimitKey(address: string): string {
  if (isIP(address) !== 6) return address;
  return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  let text = address;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}
