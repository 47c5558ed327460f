/** Self-signed certificates for tests with real TLS peers, made by the openssl CLI (no key material in the repo). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A one-day self-signed certificate for `host` (an IP address gets an IP subjectAltName, a name a DNS one) in a
 * fresh temporary directory; the caller removes `dir`.
 */
export function makeCertificate(host = '127.0.0.1'): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tapline-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const san = /^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { dir, cert, key };
}
