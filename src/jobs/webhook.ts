/**
 * Completion webhooks of video jobs: when a job ends (succeeded, failed or cancelled) its JSON is POSTed to the
 * URL given at upload, signed with HMAC-SHA256 over the exact bytes sent (`X-Scan-Fer-Signature:
 * sha256=<hex>`, key WEBHOOK_SECRET), so a receiver can check that the body came from this service unchanged.
 * A non-2xx answer or a network error is retried after a doubling delay, up to a bounded number of attempts;
 * each attempt is reported to the caller (the store records it on the job). Before every attempt the host is
 * resolved and checked again (src/jobs/ssrf.ts): a name that now points into the server's network (DNS
 * rebinding) is refused, recorded and reported, never fetched; redirects are never followed.
 */
import { createHmac } from "node:crypto";
import type { Cidr } from "../cidr.ts";
import { ApiError } from "../errors.ts";
import { checkTarget, describeRefusal, type Resolver, type TargetRefusal } from "./ssrf.ts";

/** The signature header. */
export const SIGNATURE_HEADER = "x-scan-fer-signature";

/** One delivery attempt: when, and the receiver's HTTP status or the network error. */
export interface WebhookAttempt {
  at: string;
  status?: number;
  error?: string;
}

/** A job's webhook: where to, and the attempts so far. */
export interface JobWebhook {
  url: string;
  attempts: WebhookAttempt[];
}

/** How deliveries are made. */
export interface WebhookOptions {
  /** The HMAC key (WEBHOOK_SECRET). */
  secret: string;
  /** Most attempts per job, the first included. */
  attempts: number;
  /** Delay before the second attempt; each later one waits twice the previous. */
  backoffMs: number;
  /** Longest wait for one attempt's answer. */
  timeoutMs: number;
  /** Ranges a webhook may call although they are internal (WEBHOOK_ALLOWED_CIDRS). */
  allowedCidrs?: readonly Cidr[];
  /** Host name resolution (`Deno.resolveDns` A and AAAA unless given). */
  resolve?: Resolver;
  /** Called when an attempt is refused because its host resolves to a refused address. */
  onRefused?: (refusal: TargetRefusal) => void;
}

/** `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret`. */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * Checks a webhook URL given at upload: http or https only (a 400 otherwise), and a secret to sign with (a 400
 * naming WEBHOOK_SECRET without one: unsigned callbacks could be forged by anyone who knows the URL).
 */
export function checkWebhookUrl(url: string, secret: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError("invalid_request", `Cannot accept webhook: "${url}" is not a URL`, {
      issues: [{ path: "webhook", message: "must be an http or https URL" }],
    });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ApiError(
      "invalid_request",
      `Cannot accept webhook: scheme "${parsed.protocol}" is not http or https`,
      {
        issues: [{ path: "webhook", message: "must be an http or https URL" }],
      },
    );
  }
  if (!secret) {
    throw new ApiError(
      "invalid_request",
      "Cannot accept webhook: WEBHOOK_SECRET is not set on the server (webhooks are signed with it)",
      { issues: [{ path: "webhook", message: "needs WEBHOOK_SECRET in the server's configuration" }] },
    );
  }
  return parsed.href;
}

/** The delay before attempt `n` (1-based; the first has none). */
export function backoffDelay(n: number, backoffMs: number): number {
  return n <= 1 ? 0 : backoffMs * 2 ** (n - 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Delivers `body` to `url`, attempt `done + 1` onwards (`done` made before, e.g. by an earlier process), until
 * a 2xx answer or the attempts are spent; `record` is called after each attempt. Returns whether a receiver
 * accepted it. An abort (shutdown) stops between attempts without recording one. A host that does not resolve
 * counts as a failed attempt; one that resolves to a refused address ends the delivery (`onRefused`).
 */
export async function deliverWebhook(
  url: string,
  body: string,
  o: WebhookOptions & {
    done?: number;
    event: string;
    record: (a: WebhookAttempt) => void;
    signal?: AbortSignal;
  },
): Promise<boolean> {
  const signature = signBody(o.secret, body);
  for (let n = (o.done ?? 0) + 1; n <= o.attempts; n++) {
    await sleep(backoffDelay(n, o.backoffMs), o.signal);
    if (o.signal?.aborted) return false;
    const at = new Date().toISOString();
    const refusal = await checkTarget(new URL(url), { allowed: o.allowedCidrs, resolve: o.resolve });
    if (o.signal?.aborted) return false;
    if (refusal) {
      o.record({ at, error: `refused: ${describeRefusal(refusal)}` });
      if (refusal.unresolved) continue; // maybe transient: the next attempt resolves again
      // An address in a refused range is a decision, not a failure: no further attempts.
      o.onRefused?.(refusal);
      return false;
    }
    try {
      const res = await fetch(url, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signature,
          "x-scan-fer-event": o.event,
          "x-scan-fer-attempt": String(n),
        },
        redirect: "manual",
        // Shutdown cuts an attempt short too (it is made again on the next start, not recorded).
        signal: o.signal
          ? AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)])
          : AbortSignal.timeout(o.timeoutMs),
      });
      await res.body?.cancel();
      o.record({ at, status: res.status });
      if (res.status >= 200 && res.status < 300) return true;
    } catch (err) {
      if (o.signal?.aborted) return false;
      o.record({ at, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return false;
}
