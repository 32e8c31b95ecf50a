// The cluster's TLS material under <confDir>/tls: a CA (ca.key 0600, ca.crt) that system overlays
// carry to the nodes (the agent pins it), and the server certificate it signs (server.key 0600,
// server.crt) with the server's addresses as IP SANs. `wulf init` creates them; `wulf serve` creates
// what is missing and re-issues the server certificate when an address it answers on is not in it,
// it is about to expire, or it no longer matches the CA or its key.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, writeFileAtomic } from '../lib/atomic.ts';
import { isIPv4, isIPv6 } from '../lib/ip.ts';
import { ipBytes, issue, keyId } from '../lib/x509.ts';
import type { WulfConf } from '../config/wulfconf.ts';

export const CA_DAYS = 3650;
export const SERVER_DAYS = 1825;
/** re-issue the server certificate when it expires within this many days */
const RENEW_DAYS = 30;
const CA_CN = 'wulf cluster CA';

export interface TlsFiles {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}
export function tlsFiles(confDir: string): TlsFiles {
  const dir = join(confDir, 'tls');
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** The names the server certificate must carry: the configured and served addresses, loopback, host names. */
export function serverNames(wulf: WulfConf, extra: (string | undefined)[] = []): { ips: string[]; dns: string[] } {
  const ips = new Set<string>();
  for (const a of [wulf.ipaddr, wulf.ipaddr6, ...extra, '127.0.0.1', '::1']) {
    if (!a || a === '0.0.0.0' || a === '::') continue;
    if (isIPv4(a) || isIPv6(a)) ips.add(a.toLowerCase());
  }
  const dns = new Set(['localhost', 'wulf', 'warewulf']);
  for (const d of [hostname(), wulf.fqdn]) if (d && /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(d)) dns.add(d.toLowerCase());
  return { ips: [...ips], dns: [...dns] };
}

const hex = (ip: string) => Buffer.from(ipBytes(ip)).toString('hex');
function sanIps(cert: X509Certificate): Set<string> {
  const out = new Set<string>();
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (!part.startsWith('IP Address:')) continue;
    try {
      out.add(hex(part.slice('IP Address:'.length)));
    } catch {
      /* not one we can read */
    }
  }
  return out;
}

/** Why the server certificate must be (re)issued, or undefined when it is good. */
function serverCertProblem(f: TlsFiles, ca: X509Certificate, ips: string[], now: Date): string | undefined {
  if (!existsSync(f.cert) || !existsSync(f.key)) return 'missing';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(f.cert));
  } catch {
    return 'unreadable';
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(f.key)))) return 'its key does not match';
  } catch {
    return 'its key is unreadable';
  }
  if (!cert.verify(ca.publicKey)) return 'not signed by the current CA';
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_DAYS * 86_400_000) return `expires ${cert.validTo}`;
  const have = sanIps(cert);
  const missing = ips.filter((ip) => !have.has(hex(ip)));
  if (missing.length) return `does not name ${missing.join(', ')}`;
  return undefined;
}

/**
 * Create what is missing; returns one line saying what was made (undefined when all was in place).
 * Throws (a plain Error naming the file) when the directory cannot be written. Under a lock: `init`
 * and a starting `serve` at once must not leave one's CA key beside the other's certificate.
 */
export async function ensureTls(confDir: string, names: { ips: string[]; dns: string[] }, now = new Date()): Promise<string | undefined> {
  const f = tlsFiles(confDir);
  mkdirSync(confDir, { recursive: true });
  if (!existsSync(f.dir)) mkdirSync(f.dir, { mode: 0o700 });
  const lock = await acquireLock(join(f.dir, '.lock'));
  try {
    return ensureLocked(f, names, now);
  } finally {
    lock.release();
  }
}

function ensureLocked(f: TlsFiles, names: { ips: string[]; dns: string[] }, now: Date): string | undefined {
  const done: string[] = [];
  let caKey: KeyObject, caCert: X509Certificate;
  if (existsSync(f.caCert) && existsSync(f.caKey)) {
    caKey = createPrivateKey(readFileSync(f.caKey));
    caCert = new X509Certificate(readFileSync(f.caCert));
    if (!caCert.checkPrivateKey(caKey)) throw new Error(`${f.caKey} does not belong to ${f.caCert}`);
  } else {
    const ca = issue({ cn: CA_CN, days: CA_DAYS, ca: true, now });
    writeFileAtomic(f.caKey, ca.keyPem, { mode: 0o600 });
    writeFileAtomic(f.caCert, ca.certPem, { mode: 0o644 });
    caKey = ca.key;
    caCert = new X509Certificate(ca.certPem);
    done.push(`created the cluster CA ${f.caCert} (valid ${CA_DAYS / 365} years; system overlays carry it to the nodes)`);
  }
  const problem = serverCertProblem(f, caCert, names.ips, now);
  if (problem) {
    const srv = issue({
      cn: names.ips[0] ?? 'wulf',
      days: SERVER_DAYS,
      ips: names.ips,
      dns: names.dns,
      now,
      issuer: { key: caKey, cn: CA_CN, keyId: keyId(caCert.publicKey) },
    });
    writeFileAtomic(f.key, srv.keyPem, { mode: 0o600 });
    writeFileAtomic(f.cert, srv.certPem, { mode: 0o644 });
    const verb = problem === 'missing' ? (done.length ? '' : 'created ') : `re-issued (the old one ${problem}) `;
    done.push(`${verb}the server certificate ${f.cert} for ${names.ips.join(', ')}`);
  }
  // keys stay private even when someone copied them in with a wider mode
  for (const k of [f.caKey, f.key]) chmodSync(k, 0o600);
  return done.length ? done.join(' and ') : undefined;
}

/** The server certificate and key, as Bun.serve's `tls` wants them. */
export function serverTls(confDir: string): { cert: string; key: string } {
  const f = tlsFiles(confDir);
  return { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8') };
}
