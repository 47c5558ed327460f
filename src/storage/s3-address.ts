/**
 * S3 addresses and settings without the AWS SDK: what the file plugins need to recognise `s3://…` and declare the
 * S3 flags. The SDK (several hundred ms to load) is only imported, through src/storage/s3.ts, by a run that uses
 * an S3 address.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';
import { redactUrl } from '../core/redact.js';

export interface S3Location {
  readonly bucket: string;
  /** The key, or the key template / pattern, after `s3://bucket/`. */
  readonly key: string;
}

export interface S3Settings {
  /** `http://127.0.0.1:9000`: an S3-compatible store, addressed path-style (`endpoint/bucket/key`). */
  readonly endpoint?: string;
  readonly region?: string;
  /**
   * How long a request may go without a byte moving either way before it fails (and the SDK retries it);
   * default S3_IDLE_TIMEOUT_MS. Tests shorten it.
   */
  readonly idleTimeoutMs?: number;
}

/**
 * The SDK sets no timeout of its own: a store that took a request and never answered held the run for ever
 * (an upload at the end of the run, a download). 30 s of silence, as the ES output's request timeout.
 */
export const S3_IDLE_TIMEOUT_MS = 30_000;

export const S3_PREFIX = 's3://';

export function isS3Address(address: string): boolean {
  return address.startsWith(S3_PREFIX);
}

/**
 * `S3://bkt/x`, `s3:/bkt/x`, `s3:bkt/x`: an S3 address mistyped (the prefix is exact, as gor's is), which would
 * be taken as a local path and fail as 'file not found' or 'the directory does not exist', sending the user to
 * look for a directory. A usage error instead, unless such a local path really exists (its first component).
 */
export function refuseMistypedS3Address(address: string, flag: string, localExists: (path: string) => boolean): void {
  if (isS3Address(address) || !/^s3:/i.test(address)) return;
  if (localExists(address.split('/')[0]!)) return;
  throw new TaplineError(
    ERROR_CODES.USAGE,
    `${JSON.stringify(address)} is not an S3 address: they are written ${S3_PREFIX}bucket/key, in lower case with two slashes (no local path ${JSON.stringify(address.split('/')[0])} exists either)`,
    { where: flag },
  );
}

/** `s3://bucket/some/key` → { bucket, key }. The key may be empty only when `allowEmptyKey`. */
export function parseS3Address(address: string, where: string, allowEmptyKey = false): S3Location {
  const rest = address.slice(S3_PREFIX.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `${JSON.stringify(address)}: ${JSON.stringify(bucket)} is not a bucket name (3-63 characters: a-z, 0-9, '.', '-'); expected s3://bucket/key`,
      { where },
    );
  }
  if (key === '' && !allowEmptyKey) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `${JSON.stringify(address)}: no key after the bucket; expected s3://bucket/key`,
      {
        where,
      },
    );
  }
  return { bucket, key };
}

const SECTION = 'Files';

/** Flags shared by the S3 output and input (declared once, with the file output's flags). */
export const s3Flags: Readonly<Record<string, FlagSpec>> = {
  'output-file-buffer': {
    kind: 'string',
    value: 'DIR',
    section: SECTION,
    help:
      'Staging directory for S3: chunks of --output-file s3://… are written here, then uploaded and deleted; objects ' +
      'of --input-file s3://… are downloaded here, replayed and deleted. Default: the system temporary directory.',
    gorNote: 'gor uses it for S3 output only, default /tmp',
  },
  's3-endpoint': {
    kind: 'string',
    value: 'URL',
    section: SECTION,
    help:
      'S3-compatible store for s3:// addresses (e.g. http://127.0.0.1:9000), addressed path-style. Default: ' +
      'AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then endpoint_url in ~/.aws/config (also path-style), else AWS. ' +
      'tapline only.',
  },
  's3-region': {
    kind: 'string',
    value: 'REGION',
    section: SECTION,
    help: 'Region for s3:// addresses. Default: AWS_REGION, then the profile in ~/.aws/config (us-east-1 with any of the endpoints of --s3-endpoint). tapline only.',
  },
};

/**
 * The settings of --s3-endpoint and --s3-region. Without --s3-endpoint, an endpoint in the environment
 * (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true) is taken the
 * same way, path-style: the SDK addressed it virtual-host style, so `http://localhost:9000` became
 * `bkt.localhost`, a host that does not exist (`ENOTFOUND bkt.localhost`), where every S3-compatible store
 * answers path-style.
 */
export function s3SettingsFromFlags(
  flags: FlagSet,
  env: Readonly<Record<string, string | undefined>> = process.env,
): S3Settings {
  const region = flags.string('s3-region');
  const fromFlag = flags.string('s3-endpoint');
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  const [endpoint, where] = fromFlag
    ? [fromFlag, '--s3-endpoint']
    : ignoreEnv
      ? [undefined, '']
      : env.AWS_ENDPOINT_URL_S3
        ? [env.AWS_ENDPOINT_URL_S3, 'AWS_ENDPOINT_URL_S3']
        : [env.AWS_ENDPOINT_URL || undefined, 'AWS_ENDPOINT_URL'];
  if (endpoint) checkEndpointUrl(endpoint, where);
  return { ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) };
}

/** A usage error, naming `where` it was given, unless `endpoint` is an http(s)://host[:port] URL. */
export function checkEndpointUrl(endpoint: string, where: string): void {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `expected http(s)://host[:port], got ${JSON.stringify(redactUrl(endpoint))}`,
      {
        where,
      },
    );
  }
}
