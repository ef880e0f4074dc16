import type { Usage } from '../backend';
import { costOf } from '../prices';
import type { Prices } from './results';
import type { CompletionRecord, EndRecord } from './store';

/** The worst case booked for one request before it is sent, released as its chains come back. */
export interface Reservation {
  left: number;
}

/**
 * What a run has spent and what its requests in flight could still cost. A request is sent only when the
 * spent amount, the worst case of every request in flight and its own worst case together stay within the
 * budget, so the run never passes it, whatever the requests in flight return. Once one request does not fit,
 * none is sent any more: the run stops rather than picking smaller requests around it.
 */
export class CostMeter {
  private reserved = 0;
  /** The worst case of the first request that did not fit; set once the budget stopped the run. */
  private refused: number | undefined;

  constructor(
    readonly prices: Prices,
    private spentSoFar: number,
    readonly maxCost?: number,
  ) {}

  get spent(): number {
    return this.spentSoFar;
  }

  get stopped(): boolean {
    return this.refused !== undefined;
  }

  /** Books a request's worst case; undefined (and the budget stops the run) when it would not fit. */
  reserve(worst: number): Reservation | undefined {
    if (this.refused !== undefined) return undefined;
    // A relative epsilon: sums of small prices must not refuse a request that fits exactly.
    if (this.maxCost !== undefined && this.spentSoFar + this.reserved + worst > this.maxCost * (1 + 1e-9)) {
      this.refused = worst;
      return undefined;
    }
    this.reserved += worst;
    return { left: worst };
  }

  /** Gives back part of a reservation (a chain came back), or all that is left of it (the request ended). */
  release(reservation: Reservation, amount = reservation.left): void {
    const given = Math.min(Math.max(0, amount), reservation.left);
    reservation.left -= given;
    this.reserved -= given;
  }

  /** Adds what a request's tokens cost. */
  charge(usage: Usage): void {
    this.spentSoFar += costOf(usage, this.prices);
  }

  /** The run's end as the budget saw it: what was spent, the budget, and why it stopped when it did. */
  end(): Pick<EndRecord, 'spent' | 'budget'> & { reason?: string } {
    const result: Pick<EndRecord, 'spent' | 'budget'> & { reason?: string } = { spent: this.spentSoFar };
    if (this.maxCost !== undefined) result.budget = this.maxCost;
    if (this.maxCost !== undefined && this.refused !== undefined)
      result.reason =
        `budget ${money(this.maxCost)} reached: spent ${money(this.spentSoFar)}; the next request could cost up to ${money(this.refused)}. ` +
        `Finished chains are kept: resume with a higher budget to go on.`;
    return result;
  }
}

/** What earlier sessions of a run spent: their stored figure (answer stages included), never less than their chains' cost. */
export function spentBefore(records: readonly CompletionRecord[], end: EndRecord | undefined, prices: Prices): number {
  let chains = 0;
  // Chains replayed from the completion cache were not paid for by this run.
  for (const record of records) if (!record.cached) chains += costOf(record.usage, prices);
  return Math.max(chains, end?.spent ?? 0);
}

/** An amount in the price table's currency (USD for the built-in one). */
export function money(amount: number): string {
  return `$${amount.toFixed(amount !== 0 && Math.abs(amount) < 1 ? 4 : 2)}`;
}
