/** biome-ignore-all lint/suspicious/noExplicitAny: dns.lookup has many overloads; the fake takes them all */
/**
 * A resolver for attack tests: test names answer what the test sets (successive lookups answer the
 * successive lists, the last repeating; [] fails the lookup), every other name the real resolver's.
 * `install()` replaces dns.lookup and dns.promises.lookup (the ESM bindings synced), so whatever resolves
 * names in this process sees the answers; `uninstall()` puts the real ones back.
 */
import dns, { type LookupAddress } from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { isIP } from 'node:net';

/** Per test name, the answers of successive lookups ([] = the lookup fails); the last one repeats. */
export const answers = new Map<string, string[][]>();
export const lookups = new Map<string, number>();
const realLookup = dns.lookup;
const realPromisesLookup = dns.promises.lookup;

function answer(hostname: string): string[] | undefined {
  const sequence = answers.get(hostname);
  if (!sequence) return undefined;
  const n = lookups.get(hostname) ?? 0;
  lookups.set(hostname, n + 1);
  return sequence[Math.min(n, sequence.length - 1)];
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
}

function fakeLookup(hostname: string, options: any, callback?: any): void {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'object' && options !== null ? options : {};
  const found = answer(hostname);
  if (found === undefined) return void (realLookup as any)(hostname, options, callback);
  process.nextTick(() => {
    if (found.length === 0) return cb(notFound(hostname));
    const all: LookupAddress[] = found.map((address) => ({ address, family: isIP(address) }));
    if (opts.all) cb(null, all);
    else cb(null, all[0]!.address, all[0]!.family);
  });
}

async function fakePromisesLookup(hostname: string, options?: any): Promise<any> {
  const found = answer(hostname);
  if (found === undefined) return realPromisesLookup(hostname, options);
  if (found.length === 0) throw notFound(hostname);
  const all = found.map((address) => ({ address, family: isIP(address) }));
  return options?.all ? all : all[0];
}

export function installFakeDns(): void {
  dns.lookup = fakeLookup as typeof dns.lookup;
  dns.promises.lookup = fakePromisesLookup as typeof dns.promises.lookup;
  syncBuiltinESMExports();
}

export function uninstallFakeDns(): void {
  dns.lookup = realLookup;
  dns.promises.lookup = realPromisesLookup;
  syncBuiltinESMExports();
}
