// onnxruntime's profiler trace (session option `enableProfiling`): a JSON array of Chrome trace events.
// Each `session.run` is a "model_run" event (cat "Session"); each node's kernel inside it is a "Node"
// event named "<node>_kernel_time" with its operator in args.op_name. Times are in microseconds.

export interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string; provider?: string };
}

export interface OperatorTime {
  op: string;
  ms: number;
  /** Kernels of this operator in the run. */
  count: number;
}

export interface ProfiledRun {
  /** The run's start in the trace, µs from the session's start. */
  startUs: number;
  /** The run's wall time as onnxruntime measured it (model_run). */
  wallMs: number;
  /** All its kernels' time. */
  kernelMs: number;
  /** Kernel time by operator, largest first. */
  operators: OperatorTime[];
  /** The execution providers its kernels ran on. */
  providers: string[];
}

/** Every run of a trace, in order, with its kernel time summed by operator. */
export function profiledRuns(events: readonly TraceEvent[]): ProfiledRun[] {
  const runs = events
    .filter(
      (event) => event.cat === 'Session' && event.name === 'model_run' && typeof event.ts === 'number' && typeof event.dur === 'number',
    )
    .map((event) => ({
      start: event.ts as number,
      end: (event.ts as number) + (event.dur as number),
      byOp: new Map<string, OperatorTime>(),
      providers: new Set<string>(),
    }))
    .sort((a, b) => a.start - b.start);
  for (const event of events) {
    if (event.cat !== 'Node' || !event.name?.endsWith('_kernel_time') || typeof event.ts !== 'number' || typeof event.dur !== 'number')
      continue;
    const ts = event.ts;
    // Kernels lie within their run; runs do not overlap (sequential execution).
    const run = runs.find((candidate) => ts >= candidate.start && ts <= candidate.end);
    if (!run) continue;
    const op = event.args?.op_name ?? '?';
    const entry = run.byOp.get(op) ?? { op, ms: 0, count: 0 };
    entry.ms += event.dur / 1000;
    entry.count++;
    run.byOp.set(op, entry);
    if (event.args?.provider) run.providers.add(event.args.provider);
  }
  return runs.map((run) => {
    const operators = [...run.byOp.values()].sort((a, b) => b.ms - a.ms);
    return {
      startUs: run.start,
      wallMs: (run.end - run.start) / 1000,
      kernelMs: operators.reduce((sum, entry) => sum + entry.ms, 0),
      operators,
      providers: [...run.providers].sort(),
    };
  });
}

export interface StepProfile {
  wallMs: number;
  kernelMs: number;
  /** Wall time outside the kernels: run overhead, input and output copies, the executor's own work. */
  outsideKernelsMs: number;
  /** The largest operators, then the rest as one "other" entry; shares are of the kernel time. */
  top: (OperatorTime & { share: number })[];
  providers: string[];
}

/** One run as the bench prints it: its `top` largest operators with their share of kernel time. */
export function stepProfile(run: ProfiledRun, top = 8): StepProfile {
  const share = (ms: number): number => (run.kernelMs > 0 ? ms / run.kernelMs : 0);
  const shown = run.operators.slice(0, top).map((entry) => ({ ...entry, share: share(entry.ms) }));
  const rest = run.operators.slice(top);
  if (rest.length > 0) {
    const ms = rest.reduce((sum, entry) => sum + entry.ms, 0);
    shown.push({ op: 'other', ms, count: rest.reduce((sum, entry) => sum + entry.count, 0), share: share(ms) });
  }
  return {
    wallMs: run.wallMs,
    kernelMs: run.kernelMs,
    outsideKernelsMs: Math.max(0, run.wallMs - run.kernelMs),
    top: shown,
    providers: run.providers,
  };
}

/**
 * The decode step to report from a trace of one generate call (a prefill, then decode steps): the
 * median-length run after the first, so that neither the prefill nor a cold or stalled step is taken.
 */
export function typicalDecodeRun(runs: readonly ProfiledRun[]): ProfiledRun | undefined {
  const steps = runs.slice(1).sort((a, b) => a.wallMs - b.wallMs);
  return steps[Math.floor((steps.length - 1) / 2)];
}
