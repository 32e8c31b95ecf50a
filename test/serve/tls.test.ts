// The cluster CA and server certificate (src/serve/tls.ts, src/lib/x509.ts): what is made, what is
// kept, and when the server certificate is issued again; checked with node:crypto and openssl.
import { afterAll, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTls, serverNames, tlsFiles } from '../../src/serve/tls.ts';
import { ipBytes } from '../../src/lib/x509.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = tlsFiles(dir);
const names = (ips: string[]) => ({ ips, dns: ['localhost'] });
const cert = () => new X509Certificate(readFileSync(f.cert));
const verify = () =>
  Bun.spawnSync(['openssl', 'verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', f.caCert, f.cert]).stdout.toString().trim();

test('IP address bytes: IPv4, compressed IPv6, IPv4-mapped', () => {
  expect(Buffer.from(ipBytes('10.1.2.3')).toString('hex')).toBe('0a010203');
  expect(Buffer.from(ipBytes('fd00::1:2')).toString('hex')).toBe('fd000000000000000000000000010002');
  expect(Buffer.from(ipBytes('::1')).toString('hex')).toBe('00000000000000000000000000000001');
  expect(Buffer.from(ipBytes('::ffff:10.0.0.1')).toString('hex')).toBe('00000000000000000000ffff0a000001');
  expect(() => ipBytes('nope')).toThrow();
});

test('first run makes the CA and a certificate it signed, for the wanted addresses; a second run changes nothing', async () => {
  const w = parseWulfConf('ipaddr: 10.1.2.3\nnetmask: 255.255.255.0\nipaddr6: fd00::5/64\n');
  const n = serverNames(w, ['0.0.0.0', '10.9.9.9']);
  expect(n.ips).toEqual(['10.1.2.3', 'fd00::5', '10.9.9.9', '127.0.0.1', '::1']);
  expect(await ensureTls(dir, n)).toMatch(/^created the cluster CA .* and the server certificate .* for 10\.1\.2\.3, fd00::5, 10\.9\.9\.9/);
  expect(statSync(f.dir).mode & 0o777).toBe(0o700);
  expect(statSync(f.caKey).mode & 0o777).toBe(0o600);
  expect(verify()).toBe(`${f.cert}: OK`);
  const c = cert();
  expect(c.ca).toBe(false);
  expect(new X509Certificate(readFileSync(f.caCert)).ca).toBe(true);
  for (const s of ['IP Address:10.1.2.3', 'IP Address:FD00:0:0:0:0:0:0:5', 'IP Address:127.0.0.1', 'DNS:localhost'])
    expect(c.subjectAltName).toContain(s);
  const before = readFileSync(f.cert, 'utf8');
  expect(await ensureTls(dir, n)).toBeUndefined();
  expect(readFileSync(f.cert, 'utf8')).toBe(before);
  expect(await ensureTls(dir, names(['10.1.2.3']))).toBeUndefined(); // a subset is covered
});

test('the server certificate is issued again for a new address, a foreign key, a near expiry; the CA stays', async () => {
  const ca = readFileSync(f.caCert, 'utf8');
  expect(await ensureTls(dir, names(['10.1.2.3', '10.7.7.7']))).toMatch(/^re-issued \(the old one does not name 10\.7\.7\.7\)/);
  expect(cert().subjectAltName).toContain('IP Address:10.7.7.7');
  writeFileSync(f.key, readFileSync(f.caKey)); // a key that is not the certificate's
  expect(await ensureTls(dir, names(['10.7.7.7']))).toMatch(/its key does not match/);
  expect(verify()).toBe(`${f.cert}: OK`);
  const later = new Date(Date.now() + (1825 - 10) * 86_400_000); // 10 days before it expires
  expect(await ensureTls(dir, names(['10.7.7.7']), later)).toMatch(/re-issued \(the old one expires/);
  expect(readFileSync(f.caCert, 'utf8')).toBe(ca);
});

test('a certificate from another CA is replaced; a CA key that does not match its certificate is an error', async () => {
  const other = mkdtempSync(join(tmpdir(), 'wulf-tls-other-'));
  try {
    await ensureTls(other, names(['10.7.7.7']));
    writeFileSync(f.cert, readFileSync(tlsFiles(other).cert));
    writeFileSync(f.key, readFileSync(tlsFiles(other).key));
    expect(await ensureTls(dir, names(['10.7.7.7']))).toMatch(/not signed by the current CA/);
    expect(verify()).toBe(`${f.cert}: OK`);
    writeFileSync(f.caKey, readFileSync(tlsFiles(other).caKey));
    await expect(ensureTls(dir, names(['10.7.7.7']))).rejects.toThrow(/ca\.key does not belong to .*ca\.crt/);
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});
