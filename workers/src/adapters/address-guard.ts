/**
 * Which addresses a download may connect to, checked on the address actually connected to: an undici
 * Agent whose `connect.lookup` resolves the host itself and refuses the connection when any address it
 * resolves to is not public unicast. Checking a name first and letting fetch resolve it again to
 * connect is open to DNS rebinding (the second answer is 127.0.0.1); here the one lookup is the one
 * used, for every connection of every redirect hop, and a lookup that fails fails the connection.
 *
 * "Public" is ipaddr.js's `unicast` range: everything it names (loopback, private, link-local and cloud
 * metadata, CGNAT, unique-local, multicast, reserved and benchmarking nets, 6to4, Teredo, NAT64,
 * IPv4-mapped...) is refused. One block ipaddr.js calls unicast is refused too: IPv4-compatible IPv6
 * (`::a.b.c.d`, deprecated by RFC 4291), which some stacks still route to the IPv4 address.
 */
import dns, { type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { ReelError } from '@reel/infra';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';

const IPV4_COMPATIBLE = ipaddr.IPv6.parse('::');

/** ipaddr.js's range name of an address ('ipv4Compatible' for ::a.b.c.d), or 'invalid'. */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).match(IPV4_COMPATIBLE, 96))
    return 'ipv4Compatible';
  return range;
}

/** True only for public unicast addresses. */
export function isPublicAddress(address: string): boolean {
  return addressRange(address) === 'unicast';
}

/** Error code of a download refused for where it would connect. */
export const DOWNLOAD_FORBIDDEN = 'DOWNLOAD_FORBIDDEN';

/** Thrown into the connection by the guarded lookup; the downloader turns it into its message. */
export class ForbiddenAddressError extends ReelError {
  readonly host: string;
  readonly address: string;
  constructor(host: string, address: string) {
    super(
      DOWNLOAD_FORBIDDEN,
      `${host} resolves to ${address} (${addressRange(address)}), not a public address`,
    );
    this.host = host;
    this.address = address;
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `net.connect` lookup that answers only when every address of `hostname` is public. `dns.lookup` is
 * read at call time (not bound at import), so it is the resolver the process has now.
 */
export function guardedLookup(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: LookupCallback,
  allowed: (address: string) => boolean = isPublicAddress,
): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const list = addresses as LookupAddress[];
    const internal = list.find((a) => !allowed(a.address));
    if (internal) return callback(new ForbiddenAddressError(hostname, internal.address) as never, []);
    if (list.length === 0) {
      const none: NodeJS.ErrnoException = Object.assign(new Error(`${hostname}: no address`), {
        code: 'ENOTFOUND',
      });
      return callback(none, []);
    }
    if ((options as LookupAllOptions).all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

/** Throws ForbiddenAddressError for a URL host that is an IP literal outside public unicast. */
export function checkLiteralHost(
  hostname: string,
  allowed: (address: string) => boolean = isPublicAddress,
): void {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !allowed(host)) throw new ForbiddenAddressError(host, host);
}

/**
 * An undici Agent that connects to public addresses only (see the file header). `allowed` replaces
 * "public" in tests, which have only loopback addresses to connect to.
 */
export function guardedAgent(allowed: (address: string) => boolean = isPublicAddress): Agent {
  return new Agent({
    connect: {
      lookup: (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) =>
        guardedLookup(hostname, options, callback, allowed),
    },
  });
}
