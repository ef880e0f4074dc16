// How many cases a difference between two variants needs: the power table of docs/uncertainty.md is made
// here (and a test checks the page against it), so its numbers are computed, never typed by hand.

/** z of a two-sided test at α = 0.05. */
export const Z_ALPHA = 1.959964;
/** z of 80% power (the 0.8 quantile of the standard normal). */
export const Z_POWER = 0.841621;

/**
 * Cases per variant to tell accuracies p1 and p2 apart when each variant is run on its own cases
 * (two independent proportions, normal approximation):
 *   n = (z_{α/2} + z_β)² · (p1·q1 + p2·q2) / Δ²,  Δ = p2 − p1, q = 1 − p.
 */
export function casesUnpaired(p1: number, p2: number, zAlpha = Z_ALPHA, zBeta = Z_POWER): number {
  const delta = p2 - p1;
  return Math.ceil(((zAlpha + zBeta) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2))) / (delta * delta));
}

/**
 * Cases to tell two variants apart when both run on the same cases (McNemar's test; Connor 1987):
 *   n = (z_{α/2}·√ψ + z_β·√(ψ − Δ²))² / Δ²
 * with ψ the discordance (share of cases where exactly one variant is right) and Δ the accuracy difference.
 * Only discordant cases carry information, so the fewer the cases the variants disagree on, the fewer needed.
 */
export function casesPaired(delta: number, discordance: number, zAlpha = Z_ALPHA, zBeta = Z_POWER): number {
  if (Math.abs(delta) > discordance) {
    throw new RangeError(`a difference of ${delta} needs a discordance of at least ${Math.abs(delta)}, got ${discordance}`);
  }
  return Math.ceil((zAlpha * Math.sqrt(discordance) + zBeta * Math.sqrt(discordance - delta * delta)) ** 2 / (delta * delta));
}

/** The differences (accuracy points) and paired discordances the table shows, around 75% accuracy. */
export const POWER_DIFFERENCES = [0.02, 0.05, 0.1] as const;
export const POWER_DISCORDANCES = [0.15, 0.3] as const;
export const POWER_CENTRE = 0.75;

/** The table as it appears in docs/uncertainty.md: accuracies centred on 75% (p1 = 75% − Δ/2, p2 = 75% + Δ/2). */
export function powerTableMarkdown(): string {
  const points = (value: number): string => `${Math.round(value * 100)} points`;
  const percent = (value: number): string => `${Number((value * 100).toFixed(1))}%`;
  const header = [
    '| difference | accuracies | independent cases, per variant | same cases, 15% discordant | same cases, 30% discordant |',
    '|---|---|---:|---:|---:|',
  ];
  const rows = POWER_DIFFERENCES.map((delta) => {
    const p1 = POWER_CENTRE - delta / 2;
    const p2 = POWER_CENTRE + delta / 2;
    const paired = POWER_DISCORDANCES.map((discordance) => casesPaired(delta, discordance).toLocaleString('en-US'));
    const unpaired = casesUnpaired(p1, p2).toLocaleString('en-US');
    return `| ${points(delta)} | ${percent(p1)} vs ${percent(p2)} | ${unpaired} | ${paired.join(' | ')} |`;
  });
  return [...header, ...rows].join('\n');
}

/**
 * The smallest accuracy difference n paired cases detect (two-sided α, power 1 − β) under McNemar's test:
 * Connor's formula (`casesPaired`, unrounded) solved for Δ at the discordance ψ. A difference never exceeds
 * the discordance, so a Δ above ψ is taken with as much discordance as itself (every disagreement one way).
 * The cases needed then fall as Δ grows over all of (0, 1]: bisected. At most 1 (n < z_{α/2}² ≈ 3.8 cases).
 */
export function minimumDetectableEffectPaired(cases: number, discordance: number, zAlpha = Z_ALPHA, zBeta = Z_POWER): number {
  const psi = Math.min(1, Math.max(0, discordance));
  const needed = (delta: number): number => {
    const d = Math.max(psi, delta);
    return (zAlpha * Math.sqrt(d) + zBeta * Math.sqrt(Math.max(0, d - delta * delta))) ** 2 / (delta * delta);
  };
  if (!(cases > 0) || needed(1) > cases) return 1;
  let low = 0;
  let high = 1;
  for (let i = 0; i < 60; i++) {
    const middle = (low + high) / 2;
    if (needed(middle) <= cases) high = middle;
    else low = middle;
  }
  return high;
}
