// Pacing by the provider's rate-limit headers: requests wait for the window's reset instead of running into 429s.

/** OpenAI's reset times are Go durations ("6m0s", "1s", "20ms", "1.5s"); a bare number is seconds. Undefined when unreadable. */
export function parseResetDuration(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined) return undefined;
  const value = text.trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  const part = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;
  let total = 0;
  let index = 0;
  while (index < value.length) {
    part.lastIndex = index;
    const match = part.exec(value);
    if (!match) return undefined;
    total += Number(match[1]) * (unitMs[match[2] ?? ''] ?? 0);
    index = part.lastIndex;
  }
  return total;
}

/** What one response said about the rate limits; absent fields were not sent (local servers send none). */
export interface RateLimitHeaders {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  resetRequestsMs?: number;
  resetTokensMs?: number;
}

export function readRateLimitHeaders(headers: Headers): RateLimitHeaders | undefined {
  const count = (name: string): number | undefined => {
    const text = headers.get(name);
    if (text === null || text.trim() === '') return undefined;
    const value = Number(text);
    return Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const read: RateLimitHeaders = {};
  const set = <K extends keyof RateLimitHeaders>(key: K, value: number | undefined): void => {
    if (value !== undefined) read[key] = value;
  };
  set('limitRequests', count('x-ratelimit-limit-requests'));
  set('limitTokens', count('x-ratelimit-limit-tokens'));
  set('remainingRequests', count('x-ratelimit-remaining-requests'));
  set('remainingTokens', count('x-ratelimit-remaining-tokens'));
  set('resetRequestsMs', parseResetDuration(headers.get('x-ratelimit-reset-requests')));
  set('resetTokensMs', parseResetDuration(headers.get('x-ratelimit-reset-tokens')));
  return Object.keys(read).length > 0 ? read : undefined;
}

/** One budget (requests or tokens) as last reported, with what was sent since. */
interface Budget {
  limit?: number;
  /** What the server said was left, counting the request that carried the answer. */
  remaining: number;
  /** Spent (sent) when that request was sent: later sends come off `remaining`. */
  spentAt: number;
  resetAt: number;
}

/** A ticket for one request: `observe` its response's headers with it. */
export interface PaceTicket {
  requestsSpent: number;
  tokensSpent: number;
  tokens: number;
  /** Its answer was heard (a retried stream may report twice). */
  answered?: boolean;
}

/**
 * Holds requests back when the last reported budget, less what was sent since, would not cover them before the
 * window resets. Counting sends since the reporting request (not since its answer) may hold back a little too
 * much, never too little. Without headers it never waits.
 */
export class RateLimitPacer {
  private requestsSpent = 0;
  private tokensSpent = 0;
  private requests: Budget | undefined;
  private tokens: Budget | undefined;
  /** Sent and not answered yet: the server may count them in the next window. */
  private pendingRequests = 0;
  private pendingTokens = 0;
  /** Time requests spent held back, summed over requests. */
  pacedMs = 0;
  private heard = false;
  private probe: { done: Promise<void>; resolve: () => void } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds this request must wait before it may be sent (0: now). */
  delay(tokens: number): number {
    const now = this.now();
    let wait = 0;
    for (const [budget, spent, need, pending] of [
      [this.requests, this.requestsSpent, 1, this.pendingRequests],
      [this.tokens, this.tokensSpent, tokens, this.pendingTokens],
    ] as const) {
      if (!budget) continue;
      if (now >= budget.resetAt) {
        // The window reset: the whole limit is back (unknown limit: not paced until the next answer), less what is
        // still on its way: a request sent late in the old window may be counted in the new one.
        if (budget.limit === undefined) continue;
        budget.remaining = budget.limit;
        budget.spentAt = spent - pending;
        // A fresh window's end is unknown until the next answer: wait for it at most a second at a time.
        budget.resetAt = Number.POSITIVE_INFINITY;
      }
      const left = budget.remaining - (spent - budget.spentAt);
      // A request bigger than a whole window's tokens can never fit: it goes when the window is fresh.
      const fits = left >= need || (budget.limit !== undefined && need > budget.limit && left >= budget.limit);
      if (!fits) wait = Math.max(wait, Number.isFinite(budget.resetAt) ? budget.resetAt - now : 1000);
    }
    return Math.max(0, wait);
  }

  /**
   * Before the first answer nothing is known of the budget: the first request goes alone and the others wait for
   * its answer (its headers, or none), so a run's opening burst cannot overrun a small budget.
   */
  firstAnswer(): Promise<void> | undefined {
    return this.heard ? undefined : this.probe?.done;
  }

  /** Counts a request as sent (call when `delay` said 0, in the same tick). */
  take(tokens: number): PaceTicket {
    if (!this.heard && !this.probe) {
      let resolve = (): void => undefined;
      const done = new Promise<void>((settle) => (resolve = settle));
      this.probe = { done, resolve };
    }
    this.requestsSpent += 1;
    this.tokensSpent += tokens;
    this.pendingRequests += 1;
    this.pendingTokens += tokens;
    return { requestsSpent: this.requestsSpent, tokensSpent: this.tokensSpent, tokens };
  }

  /** Learns from a response's headers (none: a server without limits, or no answer at all), for the request of this ticket. */
  observe(ticket: PaceTicket, headers: RateLimitHeaders | undefined): void {
    if (!ticket.answered) {
      ticket.answered = true;
      this.pendingRequests -= 1;
      this.pendingTokens -= ticket.tokens;
    }
    if (!this.heard) {
      this.heard = true;
      this.probe?.resolve();
    }
    if (!headers) return;
    const now = this.now();
    this.requests = update(
      this.requests,
      headers.limitRequests,
      headers.remainingRequests,
      headers.resetRequestsMs,
      ticket.requestsSpent,
      now,
    );
    this.tokens = update(this.tokens, headers.limitTokens, headers.remainingTokens, headers.resetTokensMs, ticket.tokensSpent, now);
  }
}

function update(
  budget: Budget | undefined,
  limit: number | undefined,
  remaining: number | undefined,
  resetMs: number | undefined,
  spentAt: number,
  now: number,
): Budget | undefined {
  if (remaining === undefined) return budget;
  // An answer to an older request than the one already heard from says less: kept only when it resets later.
  const resetAt = now + (resetMs ?? 1000);
  if (budget && Number.isFinite(budget.resetAt) && spentAt < budget.spentAt && resetAt <= budget.resetAt) return budget;
  return { ...(limit !== undefined ? { limit } : {}), remaining, spentAt, resetAt };
}

/** What a request may cost against a tokens-per-minute budget, as providers count it: the prompt plus `max_tokens` per chain. */
export function estimatedRequestTokens(request: {
  messages?: { content: string }[];
  text?: string;
  n: number;
  maxTokens?: number;
}): number {
  // ≈4 characters a token, at least one a message: an estimate, so paced a little early rather than late.
  const texts = request.messages ? request.messages.map((message) => message.content) : [request.text ?? ''];
  const prompt = texts.reduce((sum, text) => sum + Math.max(1, Math.ceil(text.length / 4)), 0);
  return prompt + (request.maxTokens ?? 0) * Math.max(1, request.n);
}
