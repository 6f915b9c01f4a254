/**
 * The manager's own IPv4 address pool: pure arithmetic, no state of its own. The caller keeps the set of
 * addresses in use (src/assemble/container-network.ts, refilled from the VM rows after a restart); `allocate(inUse)` returns the lowest free one, so the same inputs always give the
 * same address.
 *
 * Layout of a pool `N/p`: N is the network, N+1 the gateway (the bridge's address, what guests route through),
 * N+2 .. broadcast-1 are guests. A guest's MAC is derived from its IP (`02:68:` + the four octets), so an
 * address always has the same MAC: a reused address never leaves a stale neighbour entry on the host.
 *
 * Why `10.213.0.0/22` by default: 192.168.x.0/24 (the design document's 192.168.18.0/24 included) is where home
 * and office LANs live; 172.17-31.x are Docker's default pools; 10.88-89.x Podman's, 10.42-43.x k3s's,
 * 10.96.x and 10.244.x Kubernetes', 10.0.2.x QEMU/VirtualBox user networking, 100.64.0.0/10 Tailscale's.
 * 10.213.0.0 is none of those. /22 gives 1021 guests, which is what one Linux bridge can hold (1024 ports),
 * and keeps the footprint small. It is configurable, and the bridge refuses to come up over a subnet that a
 * route on the host already covers.
 */
import { HearthError } from '../errors.ts';

export const DEFAULT_POOL_CIDR = '10.213.0.0/22';

/** Everything a guest NIC needs (with the tap name, it is the sandbox's `GuestNetwork`). */
export interface GuestAddress {
  guestIp: string;
  mac: string;
  prefixLength: number;
  gateway: string;
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** `02:68:a:b:c:d` for IPv4 a.b.c.d: unicast, locally administered (bit 1 of the first octet), 0x68 = 'h'. */
export function macForIp(ip: string): string {
  const n = parseIpv4(ip);
  if (n === undefined) {
    throw new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_ADDRESS', `"${ip}" is not an IPv4 address`);
  }
  const octets = [0x02, 0x68, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
}

export class AddressPool {
  /** The pool as given, normalised: `10.213.0.0/22`. */
  readonly cidr: string;
  readonly network: string;
  readonly prefixLength: number;
  /** First host address; it sits on the bridge. */
  readonly gateway: string;
  readonly broadcast: string;
  /** How many guest addresses the pool holds. */
  readonly capacity: number;

  readonly #first: number; // first guest address
  readonly #last: number; // last guest address

  /** @throws HearthError InvalidArgument (HEARTH_ERR_NET_INVALID_CIDR) for anything but an IPv4 network /8../29. */
  constructor(cidr: string = DEFAULT_POOL_CIDR) {
    const invalid = (why: string): HearthError =>
      new HearthError('InvalidArgument', 'HEARTH_ERR_NET_INVALID_CIDR', `network pool "${cidr}": ${why}`, {
        field: 'cidr',
      });
    const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr.trim());
    const base = m?.[1] === undefined ? undefined : parseIpv4(m[1]);
    if (m === null || base === undefined) throw invalid('expected an IPv4 CIDR such as 10.213.0.0/22');
    const prefix = Number(m[2]);
    if (prefix < 8 || prefix > 29) throw invalid('the prefix length must be between 8 and 29');
    const size = 2 ** (32 - prefix);
    if (base % size !== 0) {
      const network = formatIpv4(base - (base % size));
      throw invalid(`host bits are set; the network is ${network}/${prefix}`);
    }
    this.cidr = `${formatIpv4(base)}/${prefix}`;
    this.network = formatIpv4(base);
    this.prefixLength = prefix;
    this.gateway = formatIpv4(base + 1);
    this.broadcast = formatIpv4(base + size - 1);
    this.#first = base + 2;
    this.#last = base + size - 2;
    this.capacity = this.#last - this.#first + 1;
  }

  /** Whether `ip` is a guest address of this pool (not the network, gateway or broadcast). */
  contains(ip: string): boolean {
    const n = parseIpv4(ip);
    return n !== undefined && n >= this.#first && n <= this.#last;
  }

  /** Whether the IPv4 network `cidr` shares any address with this pool. */
  overlaps(cidr: string): boolean {
    const m = /^([0-9.]+)(?:\/([0-9]{1,2}))?$/.exec(cidr);
    const base = m?.[1] === undefined ? undefined : parseIpv4(m[1]);
    if (m === null || base === undefined) return false;
    const prefix = m[2] === undefined ? 32 : Number(m[2]);
    if (prefix > 32) return false;
    const size = 2 ** (32 - prefix);
    const start = base - (base % size);
    const mine = parseIpv4(this.network) as number;
    const mySize = 2 ** (32 - this.prefixLength);
    return start < mine + mySize && mine < start + size;
  }

  /**
   * The lowest guest address not in `inUse` (addresses outside the pool in `inUse` are ignored).
   * @throws HearthError Unavailable (HEARTH_ERR_NET_POOL_EXHAUSTED) when every address is taken.
   */
  allocate(inUse: Iterable<string>): GuestAddress {
    const taken = new Set<number>();
    for (const ip of inUse) {
      const n = parseIpv4(ip);
      if (n !== undefined) taken.add(n);
    }
    for (let n = this.#first; n <= this.#last; n++) {
      if (!taken.has(n)) return this.addressOf(formatIpv4(n));
    }
    throw new HearthError(
      'Unavailable',
      'HEARTH_ERR_NET_POOL_EXHAUSTED',
      `all ${this.capacity} addresses of the network pool ${this.cidr} are in use`,
    );
  }

  /**
   * `inUse` without `ip`: what the caller keeps after a VM's address is given back.
   * @throws HearthError InvalidArgument (HEARTH_ERR_NET_INVALID_ADDRESS) when `ip` is not a guest address here.
   */
  release(inUse: Iterable<string>, ip: string): Set<string> {
    this.#assertGuest(ip);
    const rest = new Set(inUse);
    rest.delete(ip);
    return rest;
  }

  /**
   * The full guest configuration for an address already allocated (e.g. read back from a VM row).
   * @throws HearthError InvalidArgument (HEARTH_ERR_NET_INVALID_ADDRESS) when `ip` is not a guest address here.
   */
  addressOf(ip: string): GuestAddress {
    this.#assertGuest(ip);
    return { guestIp: ip, mac: macForIp(ip), prefixLength: this.prefixLength, gateway: this.gateway };
  }

  #assertGuest(ip: string): void {
    if (!this.contains(ip)) {
      throw new HearthError(
        'InvalidArgument',
        'HEARTH_ERR_NET_INVALID_ADDRESS',
        `${ip} is not a guest address of the network pool ${this.cidr}`,
      );
    }
  }
}
