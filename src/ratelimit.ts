/**
 * Per-key rate limiting as a token bucket refilled continuously: `perMinute` tokens of capacity, one token per
 * request. A refusal says how long until the next token, which becomes the 429's `Retry-After`.
 */

/** The outcome of one `take`. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until a token is available (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

/** A limiter over arbitrary keys (API keys, or client addresses without keys). */
export interface RateLimiter {
  take(key: string, now?: number): RateDecision;
}

/**
 * Creates a limiter allowing `perMinute` requests per key per minute with bursts up to `perMinute`. Idle keys
 * are forgotten after they refill, so memory stays bounded by the number of recently active keys.
 */
export function createRateLimiter(
  { perMinute, maxKeys = 100_000 }: { perMinute: number; maxKeys?: number },
): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = perMinute / 60_000;
  return {
    take(key, now = performance.now()) {
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) {
          for (const [k, v] of buckets) {
            if (v.tokens + (now - v.at) * perMs >= perMinute) buckets.delete(k);
          }
        }
        b = { tokens: perMinute, at: now };
        buckets.set(key, b);
      }
      b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * perMs);
      b.at = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(b.tokens) };
      }
      return { allowed: false, retryAfterSeconds: (1 - b.tokens) / perMs / 1000, remaining: 0 };
    },
  };
}
