/**
 * What `--output-file s3://…` and `--input-file s3://…` share: the address, the client and its settings, listing,
 * and errors in words.
 *
 * Endpoint, region and credentials come from the standard AWS sources, read by the AWS SDK itself: the
 * environment (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
 * AWS_ENDPOINT_URL_S3), ~/.aws/config and ~/.aws/credentials, SSO, web identity, the instance role. `--s3-endpoint`
 * points at an S3-compatible store (MinIO, Ceph, R2, …); `--s3-region` overrides the region.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';

export interface S3Location {
  readonly bucket: string;
  /** The key, or the key template / pattern, after `s3://bucket/`. */
  readonly key: string;
}

export interface S3Settings {
  /** `http://127.0.0.1:9000`: an S3-compatible store, addressed path-style (`endpoint/bucket/key`). */
  readonly endpoint?: string;
  readonly region?: string;
}

export const S3_PREFIX = 's3://';

export function isS3Address(address: string): boolean {
  return address.startsWith(S3_PREFIX);
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
      'S3-compatible store for s3:// addresses (e.g. http://127.0.0.1:9000), addressed path-style. Default: AWS, ' +
      'or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. tapline only.',
  },
  's3-region': {
    kind: 'string',
    value: 'REGION',
    section: SECTION,
    help: 'Region for s3:// addresses. Default: AWS_REGION, then the profile in ~/.aws/config (us-east-1 with --s3-endpoint). tapline only.',
  },
};

export function s3SettingsFromFlags(flags: FlagSet): S3Settings {
  const endpoint = flags.string('s3-endpoint');
  const region = flags.string('s3-region');
  if (endpoint) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
      throw new TaplineError(ERROR_CODES.USAGE, `expected http(s)://host[:port], got ${JSON.stringify(endpoint)}`, {
        where: '--s3-endpoint',
      });
    }
  }
  return { ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}) };
}

/**
 * A client, with its region settled now so that a missing one is a clear usage error before anything starts
 * (the SDK would only say so at the first request).
 */
export async function createS3Client(settings: S3Settings, where: string): Promise<S3Client> {
  const base = {
    ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: S3-compatible stores often reject the newer default ones.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  if (settings.region) return new S3Client({ ...base, region: settings.region });
  const client = new S3Client(base);
  try {
    await client.config.region();
    return client;
  } catch {
    client.destroy();
    if (settings.endpoint) return new S3Client({ ...base, region: 'us-east-1' });
    throw new TaplineError(
      ERROR_CODES.USAGE,
      'no AWS region: set AWS_REGION, a region in ~/.aws/config, or --s3-region',
      { where },
    );
  }
}

export interface S3Object {
  readonly key: string;
  readonly size: number;
}

/** Every object whose key starts with `prefix`, in S3's order (UTF-8 byte order of the keys). */
export async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<S3Object[]> {
  const out: S3Object[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      signal ? { abortSignal: signal } : {},
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** An SDK or network error in a few words: `NoSuchBucket: The specified bucket does not exist (HTTP 404)`. */
export function describeS3Error(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.code ?? e.name ?? 'Error';
  const message = e.message && e.message !== name ? `: ${e.message}` : '';
  return `${name}${message}${status ? ` (HTTP ${status})` : ''}`;
}

/** The error for a failed S3 call, naming the object. */
export function s3Error(action: string, location: S3Location, err: unknown): TaplineError {
  return new TaplineError(ERROR_CODES.PEER, `cannot ${action}: ${describeS3Error(err)}`, {
    where: `s3://${location.bucket}/${location.key}`,
    cause: err,
  });
}
