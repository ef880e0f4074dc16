import type { CellSummary, RunOverview } from './cellSummary';
import type { CellResult } from './results';
import type { ProgressEvent } from './run';
import { EvaluationSession, type SessionEvent, type SessionOptions, type SessionOutcome } from './session';
import type { RunHeader } from './store';

/** A failing server can fail thousands of chains: presenters log the first ones, the run file has all. */
export const MAX_FAILURES_LOGGED = 20;

/** What a presenter hears as a live session starts and runs; everything else it polls for. */
export type LiveSessionEvent =
  | { type: 'start'; header: RunHeader; runFile: string; resumed: number; overview: RunOverview }
  | { type: 'warning'; message: string }
  /** The backend's own log lines (a session in a thread has no other way to the editor's log). */
  | { type: 'log'; message: string };

export type LiveProgress = Pick<ProgressEvent, 'done' | 'total' | 'failed' | 'etaMs' | 'pacedUntil'>;

/** What changed since the last poll. */
export interface SessionPoll {
  progress?: LiveProgress;
  /** Records that arrived since the last poll. */
  records: number;
  /** Failed chains to log, described (at most MAX_FAILURES_LOGGED over the run). */
  failures: string[];
  /** The headline numbers: only when asked (a view is open), as they cost a pass over the changed cells. */
  overview?: RunOverview;
  /** Cells changed since the last poll that asked for them, chain-less. */
  cells: CellSummary[];
}

/**
 * A running evaluation as a presenter sees it: the same whether it runs on the caller's thread or in a
 * worker thread (sessionThread.ts), hence the promises.
 */
export interface LiveSession {
  run(): Promise<SessionOutcome>;
  /** Progress and failures since the last poll; with `view`, the overview and the changed cells too. */
  poll(view: boolean): Promise<SessionPoll>;
  /** Every cell with chains, chain-less (a view that loads afresh). */
  allCells(): Promise<CellSummary[]>;
  /** One cell with its chains. */
  cell(variant: string, caseId: string): Promise<CellResult | undefined>;
}

/**
 * Changed cells one poll hands over at most; the rest come with the next polls. A view polls about once a
 * second, so this bounds what crosses to it (and what it draws) per second however big the run: 2,000
 * cells a poll cost the extension host's thread stalls of ~60 ms on 2 cores, which typing waited behind.
 */
export const LIVE_CELLS_PER_POLL = 500;

/** Keeps what a presenter polls for as the session's events arrive: the latest progress, counts, failures. */
export class SessionMonitor {
  private progress: LiveProgress | undefined;
  private records = 0;
  private failuresLogged = 0;
  private failures: string[] = [];
  private session: EvaluationSession | undefined;

  constructor(private readonly forward: (event: LiveSessionEvent) => void) {}

  /** The session, built with `onEvent` below as its listener. */
  watch(session: EvaluationSession): void {
    this.session = session;
  }

  readonly onEvent = (event: SessionEvent): void => {
    switch (event.type) {
      case 'start': {
        const overview = this.session?.overview();
        if (overview) this.forward({ type: 'start', header: event.header, runFile: event.runFile, resumed: event.resumed, overview });
        break;
      }
      case 'record': {
        this.records++;
        const { record } = event;
        if (record.error && this.failuresLogged++ < MAX_FAILURES_LOGGED)
          this.failures.push(
            `${record.variant} / ${record.caseId} #${record.sample}: ${record.error}${this.failuresLogged === MAX_FAILURES_LOGGED ? ' (further failures are in the run file only)' : ''}`,
          );
        break;
      }
      case 'progress': {
        const { done, total, failed, etaMs, pacedUntil } = event.progress;
        this.progress = {
          done,
          total,
          failed,
          ...(etaMs !== undefined ? { etaMs } : {}),
          // When held requests go, not how long: a poll comes later than the event.
          ...(pacedUntil !== undefined ? { pacedUntil } : {}),
        };
        break;
      }
      case 'warning':
        this.forward({ type: 'warning', message: event.message });
        break;
      case 'result':
        break;
    }
  };

  /** Every cell that has chains, chain-less: thousands of empty ones would only weigh on a view as a run starts. */
  cellsWithChains(): CellSummary[] {
    return this.session?.allCells().filter((cell) => cell.chains > 0) ?? [];
  }

  poll(view: boolean): SessionPoll {
    const overview = view ? this.session?.overview() : undefined;
    const poll: SessionPoll = {
      ...(this.progress ? { progress: this.progress } : {}),
      records: this.records,
      failures: this.failures,
      ...(overview ? { overview } : {}),
      cells: view ? (this.session?.changedCells(LIVE_CELLS_PER_POLL) ?? []) : [],
    };
    this.records = 0;
    this.failures = [];
    return poll;
  }
}

/** A live session on the caller's thread (the CLI; the editor's local models, whose inference has a thread of its own). */
export function startSession(options: Omit<SessionOptions, 'onEvent'>, onEvent: (event: LiveSessionEvent) => void): LiveSession {
  const monitor = new SessionMonitor(onEvent);
  const session = new EvaluationSession({ ...options, onEvent: monitor.onEvent });
  monitor.watch(session);
  return {
    run: () => session.run(),
    poll: (view) => Promise.resolve(monitor.poll(view)),
    allCells: () => Promise.resolve(monitor.cellsWithChains()),
    cell: (variant, caseId) => Promise.resolve(session.cell(variant, caseId)),
  };
}
