/**
 * What `--output-file s3://…` and `--input-file s3://…` share: the address, the client and its settings, listing,
 * and errors in words.
 *
 * Endpoint, region and credentials come from the standard AWS sources, read by the AWS SDK itself: the
 * environment (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE),
 * ~/.aws/config and ~/.aws/credentials, SSO, web identity, the instance role. `--s3-endpoint` (or
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, read by s3SettingsFromFlags, or an endpoint_url in ~/.aws/config,
 * endpointFromConfigFile) points at an S3-compatible store (MinIO, Ceph, R2, …), addressed path-style;
 * `--s3-region` overrides the region.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { danglingServices } from './aws-services.js';
import { checkEndpointUrl, S3_IDLE_TIMEOUT_MS, type S3Location, type S3Settings } from './s3-address.js';

export * from './s3-address.js';

/**
 * A client, with its region settled now so that a missing one is a clear usage error before anything starts
 * (the SDK would only say so at the first request).
 */
export async function createS3Client(
  settings: S3Settings,
  where: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<S3Client> {
  const endpoint = settings.endpoint ?? (await endpointFromConfigFile(env));
  const base = {
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
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
    if (endpoint) return new S3Client({ ...base, region: 'us-east-1' });
    throw new TaplineError(
      ERROR_CODES.USAGE,
      'no AWS region: set AWS_REGION, a region in ~/.aws/config, or --s3-region',
      { where },
    );
  }
}

/**
 * The S3 endpoint configured in the shared config file, found as the AWS SDKs and CLI find it (asked of the SDK
 * itself): the profile's `services` section's `s3 = endpoint_url = …`, else the profile's `endpoint_url`, unless
 * `ignore_configured_endpoint_urls` (profile) or AWS_IGNORE_CONFIGURED_ENDPOINT_URLS says not to. Left to the
 * SDK, such an endpoint was addressed virtual-host style (`http://minio.local:9000` → `bkt.minio.local`, a
 * host that does not exist); tapline addresses it path-style, as --s3-endpoint. Only asked when neither
 * --s3-endpoint nor AWS_ENDPOINT_URL(_S3) gave one (s3SettingsFromFlags), so those come first, as in the SDK.
 */
async function endpointFromConfigFile(env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  const where = `endpoint_url in ${env.AWS_CONFIG_FILE || '~/.aws/config'} (profile ${env.AWS_PROFILE || 'default'})`;
  // The resolved config's provider of the endpoint configured for the service (internal to the SDK, whose
  // version tapline pins): the same lookup its endpoint middleware makes at the first request.
  const probe = new S3Client({ region: 'us-east-1' });
  let endpoint: string | undefined;
  try {
    const config = probe.config as { serviceConfiguredEndpoint?: () => Promise<string | undefined> };
    endpoint = await config.serviceConfiguredEndpoint?.();
  } catch (err) {
    // A `services = name` without its `[services name]` section.
    throw new TaplineError(ERROR_CODES.USAGE, (err as Error).message, { where });
  } finally {
    probe.destroy();
  }
  if (endpoint) checkEndpointUrl(endpoint, where);
  refuseDanglingServices(env, endpoint);
  return endpoint || undefined;
}

/**
 * A `services = NAME` line without its `[services NAME]` section: the AWS CLI refuses the profile, the SDK
 * ignored the line, so the endpoint meant (a MinIO, …) was passed over in silence and S3 requests went to AWS.
 * A usage error naming the file and line, as the AWS CLI's error is (aws-services.ts).
 */
function refuseDanglingServices(env: Readonly<Record<string, string | undefined>>, endpoint: string | undefined): void {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return;
  const given = env.AWS_CONFIG_FILE;
  const file = given
    ? given.startsWith('~/')
      ? join(homedir(), given.slice(2))
      : given
    : join(homedir(), '.aws', 'config');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // no file: nothing configured (the SDK reads it the same way)
  }
  const dangling = danglingServices(text, env.AWS_PROFILE || 'default');
  if (!dangling) return;
  throw new TaplineError(
    ERROR_CODES.USAGE,
    `services = ${dangling.name} (profile ${dangling.profile}) names a [services ${dangling.name}] section the file does ` +
      `not have: the AWS CLI refuses this profile ('the "${dangling.name}" services configuration does not exist'); ` +
      `the AWS SDK tapline uses would pass the line over and send S3 requests to ${endpoint ?? 'AWS itself'}. ` +
      'Add the section, correct the name, or remove the line',
    { where: `${file}:${dangling.line}` },
  );
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
  const tokens = new Set<string>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      signal ? { abortSignal: signal } : {},
    );
    // The SDK reads any 2xx body as a listing: a web page (a console port, a proxy's page) became an empty
    // bucket ("no object matches"), or, for the S3 output, chunk numbers that start again at 0.
    if (page.IsTruncated === undefined && page.Name === undefined && page.KeyCount === undefined) {
      throw new StoreReplyError(
        `the answer to the listing is not an S3 listing (HTTP ${page.$metadata.httpStatusCode}, no ListBucketResult): is the endpoint an S3 API?`,
      );
    }
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0 });
    if (!page.IsTruncated) return out;
    token = page.NextContinuationToken;
    // A listing that goes on without a way to go on would stop short in silence; one that hands back a token
    // it already gave would list for ever.
    if (!token)
      throw new StoreReplyError(
        `the listing goes on after ${out.length} key(s) but the store gave no continuation token`,
      );
    if (tokens.has(token))
      throw new StoreReplyError(
        `the store gave the same continuation token twice after ${out.length} key(s): the listing would never end`,
      );
    tokens.add(token);
  } while (token);
  return out;
}

/** A store's answer that is no S3 answer, in words (describeS3Error gives its message as it is). */
export class StoreReplyError extends Error {}

/**
 * An SDK or network error in a few words: `NoSuchBucket: The specified bucket does not exist (HTTP 404)`.
 * With the bucket, a host name not found that is the bucket's name before the endpoint's (`bkt.localhost`) says
 * how to address the store path-style.
 */
export function describeS3Error(err: unknown, bucket?: string): string {
  const words = inWords(err);
  const host = (err as { code?: string; hostname?: string }).hostname;
  if ((err as { code?: string }).code !== 'ENOTFOUND' || !bucket || !host?.startsWith(`${bucket}.`)) return words;
  if (/\.amazonaws\.com$/.test(host)) return words;
  return (
    `${words} (the bucket was addressed as a host name, virtual-host style: for an S3-compatible store give ` +
    'its address with --s3-endpoint, AWS_ENDPOINT_URL or endpoint_url in ~/.aws/config, which tapline ' +
    'addresses path-style)'
  );
}

function inWords(err: unknown): string {
  if (err instanceof StoreReplyError) return err.message;
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  // The HTTP handler's own words name its package and its option; say what happened instead.
  const idle = e.name === 'TimeoutError' ? /after (\d+) ms of inactivity/.exec(e.message ?? '') : null;
  if (idle) return `TimeoutError: the store sent nothing for ${idle[1]} ms (tried ${attempts(err)})`;
  const status = e.$metadata?.httpStatusCode;
  // An answer without S3's XML (a proxy's 502 page, an empty 403, a web page) is named by the SDK
  // 'Unknown: UnknownError', or 'Error: @aws-sdk XML parse error …' over several lines that point at its fields.
  if ((e.name === 'Unknown' && e.message === 'UnknownError') || /Deserialization error/.test(e.message ?? '')) {
    const body = (err as { body?: unknown }).body;
    const text = typeof body === 'string' && body.trim() !== '' ? ` (${JSON.stringify(body.trim().slice(0, 80))})` : '';
    return `HTTP ${status ?? '?'}, and the answer is no S3 error or result${text}`;
  }
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
  return new TaplineError(ERROR_CODES.PEER, `cannot ${action}: ${describeS3Error(err, location.bucket)}`, {
    where: `s3://${location.bucket}/${location.key}`,
    cause: err,
  });
}
