// What a run with `attacks:`, `defences:` or a judge reports (docs/results-schema.md): plain data, shared by
// the CLI, the results JSON, the HTML report and the panel.
import type { PairComparison } from '../eval/paired';

/** A share of attacked chains with its 95% interval: Wilson's at the effective sample size, clustered by attacked case. */
export interface AttackRate {
  /** The base variant (without its defence). */
  variant: string;
  /** The defence's name, or `none`. */
  defence: string;
  /** Set on rows of one attack. */
  attack?: string;
  /** Set on rows of one attack or one suite. */
  suite?: string;
  /** Attacked chains the detector found the attack worked in. */
  successes: number;
  /** Attacked chains with a decision (failed requests and invalid judge verdicts are left out). */
  trials: number;
  /** Attacked chains without a decision. */
  undecided: number;
  /** Attacked cases (attack × case) with a decision: the independent units. */
  cases: number;
  /** successes / trials; 0 without trials. */
  rate: number;
  low: number;
  high: number;
  /** The sample size of the Wilson interval: trials / design effect, within [cases, trials]. */
  effectiveTrials: number;
}

/** What a defence costs on the normal (unattacked) cases: majority-vote accuracy with and without it, paired on cases. */
export interface UtilityCost {
  variant: string;
  defence: string;
  /** The defended variant's name (`<variant>+<defence>`). */
  defended: string;
  /** Majority-vote accuracy on the normal cases, without and with the defence. */
  without: { value: number; low: number; high: number; cases: number };
  with: { value: number; low: number; high: number; cases: number };
  /** Defended minus undefended, paired on cases (`a` = defended, `b` = the variant); absent without paired cases. */
  paired?: PairComparison;
}

export interface AttackInfo {
  id: string;
  suite: string;
  into: string;
  position: string;
  language?: string;
  description?: string;
  /** The detector, in words (`output contains "PWNED"`). */
  detector: string;
  text: string;
}

export interface DefenceInfo {
  name: string;
  type: string;
  /** What it does, in words. */
  description: string;
}

/** `security` of a result. */
export interface SecurityResult {
  /** The untrusted variable, or `user`. */
  into: string;
  attacks: AttackInfo[];
  defences: DefenceInfo[];
  /** Attack success by base variant × defence (`none` first) × attack. */
  matrix: AttackRate[];
  /** The same by suite. */
  suites: AttackRate[];
  /** The same over every attack. */
  overall: AttackRate[];
  /** Each defence's cost on the normal cases, per base variant. */
  utility: UtilityCost[];
}

/** One verdict of the judge on one chain. */
export interface JudgeVerdict {
  /** Absent when the verdict was invalid. */
  pass?: boolean;
  /** 0…1 when the judge gave one. */
  score?: number;
  reason?: string;
  /** Why the judge's output could not be read as a verdict (no JSON, an unknown verdict, a score out of range, a failed request). */
  invalid?: string;
  promptTokens: number;
  completionTokens: number;
}

/** Agreement of the judge's verdicts with human labels (`label:` of cases), over the chains of labelled cases. */
export interface LabelAgreement {
  /** Chains of labelled cases with a valid majority verdict. */
  chains: number;
  /** Share of those where the verdict equals the label. */
  agreement: number;
  /** Cohen's kappa of verdict against label; null when undefined (one class only on both sides). */
  kappa: number | null;
  /** Of chains labelled pass, those the judge passed; null without any. */
  truePositiveRate: number | null;
  /** Of chains labelled fail, those the judge passed; null without any. */
  falsePositiveRate: number | null;
  confusion: { truePositive: number; falsePositive: number; trueNegative: number; falseNegative: number };
}

/** `judge` of a result: how the judge behaved on this run. */
export interface JudgeSummary {
  model: string;
  repeats: number;
  /** Chains judged, and of them chains whose verdicts were all invalid. */
  chains: number;
  invalidChains: number;
  /** Verdicts requested, and of them invalid ones. */
  verdicts: number;
  invalidVerdicts: number;
  /** Mean over chains with ≥ 2 valid verdicts of the share agreeing with the chain's majority; null when repeats < 2. */
  selfAgreement: number | null;
  /** Fleiss' kappa of the repeats over those chains; null when undefined. */
  fleissKappa: number | null;
  labels?: LabelAgreement;
  promptTokens: number;
  completionTokens: number;
}
