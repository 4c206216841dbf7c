/**
 * A throw-away public key infrastructure for TLS tests, made at run time with
 * the system's `openssl` in a temporary directory (no key is ever checked
 * in): a test CA, a server certificate for 127.0.0.1 and localhost, client
 * certificates naming node ids, a second, untrusted CA, and a self-signed
 * server certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A key and its certificate, as PEM text and as the files they were read from. */
export interface KeyPair {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

export interface TestPki {
  /** The directory holding every file; removed by {@link TestPki.remove}. */
  dir: string;
  /** The trusted test CA (`key` signs the others). */
  ca: KeyPair;
  /** Signed by {@link ca}: subject CN `localhost`, SANs `IP:127.0.0.1` and `DNS:localhost`. */
  server: KeyPair;
  /** Signed by {@link ca}: CN `im-1`, SAN `DNS:im-1`. */
  im1: KeyPair;
  /** Signed by {@link ca}: CN `im-2`, no SAN. */
  im2: KeyPair;
  /** Signed by {@link ca}: CN `node`, SAN `URI:spiffe://cluster/im-3`. */
  im3: KeyPair;
  /** Signed by {@link ca}: a mesh node's certificate, for 127.0.0.1 and localhost, good as server and as client. */
  meshNode: KeyPair;
  /** A second CA nobody trusts. */
  otherCa: KeyPair;
  /** Signed by {@link otherCa}, for 127.0.0.1 and localhost like {@link server}. */
  untrustedServer: KeyPair;
  /** Signed by {@link otherCa}: CN `im-1`, SAN `DNS:im-1`. */
  untrustedIm1: KeyPair;
  /** Signed by its own key (no CA): for 127.0.0.1 and localhost like {@link server}. */
  selfSigned: KeyPair;
  /** Deletes the directory. */
  remove(): void;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// EC keys: generated in milliseconds, unlike RSA.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function read(dir: string, name: string): KeyPair {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile, certFile };
}

function makeSelfSigned(dir: string, name: string, cn: string, extensions: string[]): KeyPair {
  openssl(dir, [
    'req',
    '-x509',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
  return read(dir, name);
}

function makeCa(dir: string, name: string): KeyPair {
  return makeSelfSigned(dir, name, name, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function makeLeaf(dir: string, name: string, ca: string, cn: string, extensions: string[]): KeyPair {
  openssl(dir, ['req', '-new', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  writeFileSync(join(dir, `${name}.ext`), ['basicConstraints=CA:FALSE', ...extensions].join('\n') + '\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return read(dir, name);
}

const SERVER_NAMES = ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth'];
const CLIENT = 'extendedKeyUsage=clientAuth';

/** Makes the whole set in a fresh temporary directory (a few tens of milliseconds). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'imrelay-pki-'));
  try {
    const ca = makeCa(dir, 'ca');
    const otherCa = makeCa(dir, 'other-ca');
    return {
      dir,
      ca,
      server: makeLeaf(dir, 'server', 'ca', 'localhost', SERVER_NAMES),
      im1: makeLeaf(dir, 'im-1', 'ca', 'im-1', ['subjectAltName=DNS:im-1', CLIENT]),
      im2: makeLeaf(dir, 'im-2', 'ca', 'im-2', [CLIENT]),
      im3: makeLeaf(dir, 'im-3', 'ca', 'node', ['subjectAltName=URI:spiffe://cluster/im-3', CLIENT]),
      meshNode: makeLeaf(dir, 'mesh-node', 'ca', 'mesh-node', [
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        'extendedKeyUsage=serverAuth,clientAuth',
      ]),
      otherCa,
      untrustedServer: makeLeaf(dir, 'untrusted-server', 'other-ca', 'localhost', SERVER_NAMES),
      untrustedIm1: makeLeaf(dir, 'untrusted-im-1', 'other-ca', 'im-1', ['subjectAltName=DNS:im-1', CLIENT]),
      selfSigned: makeSelfSigned(dir, 'self-signed', 'localhost', ['basicConstraints=CA:FALSE', ...SERVER_NAMES]),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
