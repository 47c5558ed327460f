/** fetch() rejects with "fetch failed" and hides the reason (ECONNREFUSED, timeout) in `cause`: show both. */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}
