/**
 * Why a POST of the exporters failed, in words for the user. fetch() rejects with "fetch failed" and hides the
 * reason (ECONNREFUSED, a reset) in `cause`: both are shown. Two of its reasons are said plainly: the timeout's
 * AbortSignal says only "The operation was aborted due to timeout", and "bad port" is fetch refusing one of the
 * ports browsers block (6000, 5060, 2049, 6665–6669, …) before any connection is tried.
 */
export function describeFetchError(err: unknown, timeoutMs?: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' && timeoutMs !== undefined) return `no answer within ${timeoutMs} ms`;
  if (err.cause instanceof Error && err.cause.message === 'bad port') {
    return 'fetch refuses to connect to this port (one of the ports browsers block); give the receiver another port';
  }
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}
