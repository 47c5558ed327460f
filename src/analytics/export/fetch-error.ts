/**
 * Why a POST of the exporters failed, in words for the user. fetch() rejects with "fetch failed" and hides the
 * reason (ECONNREFUSED, a reset) in `cause`: both are shown. Two of its reasons are said plainly: the timeout's
 * AbortSignal says only "The operation was aborted due to timeout", and "bad port" is fetch refusing one of the
 * ports browsers block (6000, 5060, 2049, 6665–6669, …) before any connection is tried. TLS failures are said
 * as what to do (tlsProblem), never as OpenSSL's text with its source path.
 */
export function describeFetchError(err: unknown, timeoutMs?: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' && timeoutMs !== undefined) return `no answer within ${timeoutMs} ms`;
  if (err.cause instanceof Error && err.cause.message === 'bad port') {
    return 'fetch refuses to connect to this port (one of the ports browsers block); give the receiver another port';
  }
  const cause = err.cause as (Error & { code?: string; reason?: string }) | undefined;
  if (!(cause instanceof Error)) return err.message;
  const tls = tlsProblem(cause);
  if (tls) return tls;
  // OpenSSL's own text names its source file and ends with a newline, which broke the warning and summary lines.
  return `${err.message}: ${cause.reason ?? cause.message.split('\n')[0]!.trim()}`;
}

/** Certificate refusals Node names by code: said with the code and how to trust the receiver. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The two TLS failures an https:// receiver URL meets, in words: one that does not speak TLS (OpenSSL said
 * '…:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:'
 * and a newline), and a certificate this process does not trust. Neither is helped by sending again.
 */
export function tlsProblem(cause: Error & { code?: string }, peer = 'receiver'): string | undefined {
  // fetch's codes; node:https (the Elasticsearch output) says EPROTO with OpenSSL's reason in the message.
  const notTls = /wrong version number|http request/.test(cause.message);
  if (
    cause.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    cause.code === 'ERR_SSL_HTTP_REQUEST' ||
    (cause.code === 'EPROTO' && notTls)
  ) {
    return `the ${peer} does not speak TLS (an https:// URL for a plain HTTP port? give http://)`;
  }
  if (cause.code && CERTIFICATE_CODES.has(cause.code)) {
    return `the ${peer}'s TLS certificate was refused: ${cause.message} (${cause.code}); trust its CA with NODE_EXTRA_CA_CERTS`;
  }
  return undefined;
}
