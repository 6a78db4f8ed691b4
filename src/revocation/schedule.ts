/** When to fetch a URL's CRL next. Pure, so the policy is tested without waiting for it. */

/** Refresh this long before a CRL's nextUpdate, so a new one is in place before the old expires. */
export const BEFORE_NEXT_UPDATE_MS = 60_000;
/** Never sooner than this (an expired CRL that the server keeps serving, say), unless the interval is shorter. */
export const MIN_REFRESH_MS = 30_000;
/** First retry after a failure; doubles each time, up to the interval. */
export const FIRST_RETRY_MS = 10_000;

export interface RefreshState {
  intervalMs: number;
  nowMs: number;
  /** nextUpdate of the CRL in force; null when it has none or there is none. */
  nextUpdateMs: number | null;
  /** Failed attempts in a row. */
  failures: number;
}

/**
 * Milliseconds until the next fetch: the interval, or sooner — a minute before nextUpdate, and after a
 * failure 10 s doubling each time. `jitter` (0..1, default random) spreads a fleet of edges by ±10%.
 */
export function refreshDelay(state: RefreshState, jitter = Math.random()): number {
  const { intervalMs } = state;
  let delay = intervalMs;
  if (state.nextUpdateMs !== null) {
    const beforeExpiry = state.nextUpdateMs - BEFORE_NEXT_UPDATE_MS - state.nowMs;
    delay = Math.min(delay, Math.max(beforeExpiry, Math.min(MIN_REFRESH_MS, intervalMs)));
  }
  if (state.failures > 0) {
    const retry = Math.min(FIRST_RETRY_MS, intervalMs) * 2 ** Math.min(state.failures - 1, 30);
    delay = Math.min(delay, retry);
  }
  return Math.round(delay * (0.9 + jitter * 0.2));
}
