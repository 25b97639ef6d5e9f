/**
 * Where the server may send requests a lender chose the address of (webhooks): public internet
 * addresses only. Loopback, private, link-local (cloud metadata at 169.254.169.254 included),
 * carrier-grade NAT, unique-local, multicast and reserved ranges are refused, by address, after
 * DNS resolution — once when an endpoint is registered and again for every delivery, which then
 * connects to exactly the address it checked (a name re-resolved between check and connect could
 * point somewhere else: DNS rebinding). An operator names on-premises receivers that may resolve
 * to private addresses in LIEN_WEBHOOK_ALLOW_HOSTS.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { LienError } from '../domain/errors.ts';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local (fd00:ec2::254 is AWS's metadata)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // old site-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** Names that reach cloud metadata or this host without needing to resolve anywhere else. */
const BLOCKED_NAMES = [/^localhost$/, /\.localhost$/, /^metadata$/, /^metadata\.google\.internal$/, /^metadata\.goog$/, /^instance-data(\..*)?$/, /\.internal$/];

/** The IPv4 address inside an IPv6 one that carries it (mapped, NAT64, 6to4), or null. */
function embeddedIpv4(ip: string): string | null {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const hi = parseInt(sixToFour[1]!, 16);
    const lo = parseInt(sixToFour[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** Why an address may not be a webhook target, or null when it is a public one. */
export function forbiddenAddress(ip: string): string | null {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 4) return blocked.check(ip, 'ipv4') ? `${ip} is a loopback, private, link-local, shared or reserved address` : null;
  const inner = embeddedIpv4(ip);
  if (inner !== null) return forbiddenAddress(inner) && `${ip} carries ${inner}: ${forbiddenAddress(inner)}`;
  return blocked.check(ip, 'ipv6') ? `${ip} is a loopback, unique-local, link-local, multicast or reserved address` : null;
}

/** What an operator allows beyond public addresses: host names (or addresses) of on-premises receivers. */
export interface OutboundPolicy {
  allowHosts: readonly string[];
}

export const PUBLIC_ONLY: OutboundPolicy = { allowHosts: [] };

/** LIEN_WEBHOOK_ALLOW_HOSTS: comma- or space-separated names, lowercased. */
export function parseAllowHosts(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, ''))
    .filter(Boolean);
}

/** The host of a URL as the connection sees it: lowercase, IPv6 without brackets. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

function allowed(policy: OutboundPolicy, host: string): boolean {
  return policy.allowHosts.includes(host);
}

function refuse(url: URL, why: string): LienError {
  return new LienError(
    'invalid_input',
    `The webhook URL ${url.origin} points at a private or internal address (${why}); webhooks go to public addresses only. An operator can allow an on-premises receiver by name with LIEN_WEBHOOK_ALLOW_HOSTS.`,
    { field: 'url' },
  );
}

export type Lookup = (hostname: string) => Promise<LookupAddress[]>;

export const systemLookup: Lookup = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(Object.assign(new Error(`no DNS answer within ${ms} ms`), { code: 'ETIMEOUT' })), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/**
 * The addresses a request to `url` may connect to: the checked resolution of its host. Throws
 * invalid_input when the host is, or resolves to, a forbidden address (any of them: a name that
 * resolves to one public and one private address is refused) and the operator has not allowed it.
 */
export async function resolveTarget(url: URL, policy: OutboundPolicy, lookup: Lookup = systemLookup, timeoutMs = 5_000): Promise<LookupAddress[]> {
  const host = hostOf(url);
  const ipFamily = isIP(host);
  if (ipFamily !== 0) {
    const why = forbiddenAddress(host);
    if (why && !allowed(policy, host)) throw refuse(url, why);
    return [{ address: host, family: ipFamily }];
  }
  if (!allowed(policy, host) && BLOCKED_NAMES.some((re) => re.test(host))) throw refuse(url, `${host} is an internal name`);
  const addresses = await withTimeout(lookup(host), timeoutMs);
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  if (!allowed(policy, host)) {
    for (const a of addresses) {
      const why = forbiddenAddress(a.address);
      if (why) throw refuse(url, `${host} resolves to ${why}`);
    }
  }
  return addresses;
}

/**
 * The check at registration: a URL whose host is or resolves to a forbidden address is refused.
 * A name that does not resolve yet is accepted (its DNS may come later); every delivery checks
 * again.
 */
export async function checkWebhookTarget(url: URL, policy: OutboundPolicy, lookup: Lookup = systemLookup): Promise<void> {
  try {
    await resolveTarget(url, policy, lookup, 3_000);
  } catch (e) {
    if (e instanceof LienError) throw e;
  }
}

export interface PinnedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The start of the body (at most `maxBodyBytes`), as UTF-8. */
  body: string;
}

export interface PinnedRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  outbound: OutboundPolicy;
  lookup?: Lookup;
  maxBodyBytes?: number;
}

/** A request that got no answer: refused by the address check, unreachable, or timed out. */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly kind: 'refused' | 'unreachable' | 'timeout',
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

/**
 * An HTTP(S) request to an address a lender or operator chose (webhooks, SMS providers, Daraja):
 * the host is resolved and checked (resolveTarget) and the connection goes to exactly the address
 * that passed, so a name re-pointed at an internal address between check and connect reaches
 * nothing. Redirects are not followed. The body read is capped so a hostile answer cannot hold
 * the caller.
 */
export async function requestPinned(url: string, req: PinnedRequest): Promise<PinnedResponse> {
  const target = new URL(url);
  let addresses: LookupAddress[];
  try {
    addresses = await resolveTarget(target, req.outbound, req.lookup ?? systemLookup);
  } catch (e) {
    if (e instanceof LienError) throw new OutboundError(`refused: ${e.message}`, 'refused');
    throw new OutboundError(`cannot resolve ${target.hostname}: ${e instanceof Error ? e.message : String(e)}`, 'unreachable');
  }
  const first = addresses[0]!;
  const maxBody = req.maxBodyBytes ?? 64 * 1024;
  const signal = AbortSignal.timeout(req.timeoutMs);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = req.body ?? '';
  return new Promise<PinnedResponse>((resolve, reject) => {
    const r = send(
      target,
      {
        method: req.method,
        headers: { ...req.headers, ...(req.method === 'POST' ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
        agent: false,
        signal,
        lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
          opts?.all ? cb(null, addresses) : cb(null, first.address, first.family)) as never,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < maxBody) chunks.push(c);
          size += c.length;
          if (size >= maxBody) res.destroy();
        });
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, maxBody).toString('utf8') });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    r.on('error', (e) => {
      const timedOut = signal.aborted || e.name === 'AbortError' || e.name === 'TimeoutError';
      reject(timedOut ? new OutboundError(`no answer within ${req.timeoutMs / 1000} s`, 'timeout') : new OutboundError(e.message, 'unreachable'));
    });
    r.end(req.method === 'POST' ? body : undefined);
  });
}
