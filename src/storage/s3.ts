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
import { S3_IDLE_TIMEOUT_MS, type S3Location, type S3Settings } from './s3-address.js';

export * from './s3-address.js';

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
    // A silent store fails the request (retried by the SDK, then reported) instead of holding it for ever.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: settings.idleTimeoutMs ?? S3_IDLE_TIMEOUT_MS },
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
  // The HTTP handler's own words name its package and its option; say what happened instead.
  const idle = e.name === 'TimeoutError' ? /after (\d+) ms of inactivity/.exec(e.message ?? '') : null;
  if (idle) return `TimeoutError: the store sent nothing for ${idle[1]} ms (tried ${attempts(err)})`;
  const status = e.$metadata?.httpStatusCode;
  const name = e.code ?? e.name ?? 'Error';
  const message = e.message && e.message !== name ? `: ${e.message}` : '';
  return `${name}${message}${status ? ` (HTTP ${status})` : ''}`;
}

/** How many times the SDK sent the request that failed, in words. */
function attempts(err: unknown): string {
  const n = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  return n === undefined || n === 1 ? 'once' : `${n} times`;
}

/** The error for a failed S3 call, naming the object. */
export function s3Error(action: string, location: S3Location, err: unknown): TaplineError {
  return new TaplineError(ERROR_CODES.PEER, `cannot ${action}: ${describeS3Error(err)}`, {
    where: `s3://${location.bucket}/${location.key}`,
    cause: err,
  });
}
