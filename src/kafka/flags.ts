/**
 * Flags shared by --input-kafka-* and --output-kafka-* (spec §1.2, Kafka): brokers, SASL, TLS, retries, and
 * turning them into a KafkaConnection. Every inconsistent combination is a usage error naming the flag
 * (gor dies later with a sarama error, or silently creates no plugin).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ConnectionOptions, createSecureContext } from 'node:tls';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import type { KafkaConnection } from './client.js';

export const KAFKA_SECTION = 'Kafka';

const spec = (s: Omit<FlagSpec, 'section'>): FlagSpec => ({ section: KAFKA_SECTION, ...s });

/** TLS flags, shared by both directions (one declaration object, so both plugins declare the same flag). */
export const KAFKA_TLS_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'kafka-tls-ca-cert': spec({
    kind: 'string',
    value: 'FILE',
    help: 'PEM CA certificate for the Kafka brokers. TLS is on when this or --kafka-tls-client-cert is set.',
  }),
  'kafka-tls-client-cert': spec({
    kind: 'string',
    value: 'FILE',
    help: 'PEM client certificate (needs --kafka-tls-client-key).',
  }),
  'kafka-tls-client-key': spec({ kind: 'string', value: 'FILE', help: 'PEM key of the client certificate.' }),
};

/** `<prefix>-host`, `-topic`, `-json-format`, SASL and retries for `prefix` = `input-kafka` | `output-kafka`. */
export function commonKafkaFlags(prefix: string, direction: 'read' | 'write'): Record<string, FlagSpec> {
  return {
    [`${prefix}-host`]: spec({
      kind: 'string',
      value: 'HOSTS',
      help: `Kafka brokers to ${direction === 'read' ? 'read from' : 'write to'}, comma-separated (host:port,...). Needs --${prefix}-topic.`,
    }),
    [`${prefix}-topic`]: spec({ kind: 'string', value: 'TOPIC', help: 'Kafka topic.' }),
    [`${prefix}-json-format`]: spec({
      kind: 'bool',
      help: "Messages are gor's JSON objects (Req_URL, Req_Type, ...) instead of raw meta line + payload. Lossy: see docs/kafka.md.",
    }),
    [`${prefix}-use-sasl`]: spec({
      kind: 'bool',
      help: 'Authenticate with SASL (needs -mechanism, -username, -password).',
    }),
    [`${prefix}-mechanism`]: spec({
      kind: 'string',
      value: 'NAME',
      help: 'SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.',
    }),
    [`${prefix}-username`]: spec({ kind: 'string', help: 'SASL user name.' }),
    [`${prefix}-password`]: spec({ kind: 'string', help: 'SASL password.' }),
    [`${prefix}-retries`]: spec({
      kind: 'int',
      default: '12',
      help: 'Retries of a failed Kafka request (backoff from 200ms, capped at 5s: about a minute of broker outage). tapline only.',
    }),
  };
}

const usage = (message: string, where: string) => new TaplineError(ERROR_CODES.USAGE, message, { where });

function readPem(flags: FlagSet, name: string): Buffer | undefined {
  const file = flags.string(name);
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot read ${file}: ${(err as Error).message}`, {
      where: `--${name}`,
      cause: err,
    });
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Checks the certificates of a PEM file now: a file that held none, or a bad one, failed every message at run
 * time (librdkafka: 'ssl.certificate.pem failed: not in PEM format?', exit 0) or every connection.
 */
function checkCertificates(pem: Buffer, flags: FlagSet, name: string): void {
  const file = JSON.stringify(flags.string(name));
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw usage(`${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, `--${name}`);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw usage(`${file}: certificate ${i + 1} cannot be read (${(err as Error).message})`, `--${name}`);
    }
  }
}

/** The client key is a readable private key, and the client certificate's. */
function checkKeyPair(cert: Buffer, key: Buffer, flags: FlagSet): void {
  const file = JSON.stringify(flags.string('kafka-tls-client-key'));
  try {
    createPrivateKey(key);
  } catch (err) {
    throw usage(
      `${file} is not a PEM private key, or is encrypted (${(err as Error).message})`,
      '--kafka-tls-client-key',
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const mismatch = (err as { code?: string }).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH';
    throw usage(
      mismatch
        ? `${file} is not the key of the certificate in ${JSON.stringify(flags.string('kafka-tls-client-cert'))}`
        : `cannot use this key with the client certificate (${(err as Error).message})`,
      '--kafka-tls-client-key',
    );
  }
}

/** TLS options from --kafka-tls-*, or undefined when TLS is off (gor: on when a CA or client cert is set). */
export function tlsOptions(flags: FlagSet): ConnectionOptions | undefined {
  const cert = flags.string('kafka-tls-client-cert');
  const key = flags.string('kafka-tls-client-key');
  if (cert && !key)
    throw usage('a client certificate needs its key (--kafka-tls-client-key)', '--kafka-tls-client-cert');
  if (key && !cert)
    throw usage('a client key needs its certificate (--kafka-tls-client-cert)', '--kafka-tls-client-key');
  const ca = readPem(flags, 'kafka-tls-ca-cert');
  if (ca) checkCertificates(ca, flags, 'kafka-tls-ca-cert');
  if (!ca && !cert) return undefined;
  const out: ConnectionOptions = {};
  if (ca) out.ca = ca;
  if (cert) {
    out.cert = readPem(flags, 'kafka-tls-client-cert')!;
    out.key = readPem(flags, 'kafka-tls-client-key')!;
    checkCertificates(out.cert, flags, 'kafka-tls-client-cert');
    checkKeyPair(out.cert, out.key, flags);
  }
  return out;
}

const MECHANISMS = { PLAIN: 'plain', 'SCRAM-SHA-256': 'scram-sha-256', 'SCRAM-SHA-512': 'scram-sha-512' } as const;

export function saslOptions(flags: FlagSet, prefix: string): KafkaConnection['sasl'] {
  if (!flags.bool(`${prefix}-use-sasl`)) return undefined;
  const given = flags.string(`${prefix}-mechanism`);
  const mechanism = MECHANISMS[given.toUpperCase() as keyof typeof MECHANISMS];
  if (!mechanism) {
    throw usage(
      `SASL mechanism ${JSON.stringify(given)} is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`,
      `--${prefix}-mechanism`,
    );
  }
  const username = flags.string(`${prefix}-username`);
  if (!username) throw usage('SASL needs a user name', `--${prefix}-username`);
  return { mechanism, username, password: flags.string(`${prefix}-password`) };
}

/** Broker list of `--<prefix>-host` (a `|limit` suffix is already removed by the registry). */
export function parseBrokers(address: string, prefix: string): string[] {
  const brokers = address
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length === 0) throw usage('no Kafka broker given', `--${prefix}-host`);
  for (const b of brokers) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw usage(`broker ${JSON.stringify(b)} is not host:port`, `--${prefix}-host`);
    }
  }
  return brokers;
}

export function connectionFrom(
  address: string,
  flags: FlagSet,
  prefix: 'input-kafka' | 'output-kafka',
  log: Logger,
): { connection: KafkaConnection; topic: string } {
  const brokers = parseBrokers(address, prefix);
  const topic = flags.string(`${prefix}-topic`);
  if (!topic)
    throw usage(`--${prefix}-host needs --${prefix}-topic (gor silently ignores the plugin)`, `--${prefix}-host`);
  // Kafka refuses '.' and '..' too (every message failed at run time on a real broker).
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw usage(
      `${JSON.stringify(topic)} is not a valid Kafka topic name (letters, digits, . _ -)`,
      `--${prefix}-topic`,
    );
  }
  const retries = flags.number(`${prefix}-retries`);
  if (retries < 0) throw usage('must be ≥ 0', `--${prefix}-retries`);
  const name = `${prefix}(${topic})`;
  const connection: KafkaConnection = { brokers, clientId: 'tapline', retries, log, name };
  const ssl = tlsOptions(flags);
  if (ssl) connection.ssl = ssl;
  const sasl = saslOptions(flags, prefix);
  if (sasl) connection.sasl = sasl;
  else {
    // gor ignores them without -use-sasl, and so does tapline; but a user who gave credentials meant them, and
    // the broker's refusal (or an unauthenticated session) would not say why.
    const given = ['mechanism', 'username', 'password'].filter((f) => flags.string(`${prefix}-${f}`) !== '');
    if (given.length > 0) {
      log.warn(
        `${given.map((f) => `--${prefix}-${f}`).join(', ')} ignored: SASL is off without --${prefix}-use-sasl (as in gor)`,
      );
    }
  }
  return { connection, topic };
}
