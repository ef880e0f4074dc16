// How a security result is laid out, shared by the CLI table and the panel's matrix.
import type { SecurityResult } from './types';

/** The base variants of a security result, in the order the result lists them. */
export function baseVariants(security: SecurityResult): string[] {
  return [...new Set([...security.overall, ...security.suites, ...security.utility].map((entry) => entry.variant))];
}

/** `none` first, then the defences in the order the prompt declares them, of those the variant has rates for. */
export function defenceColumns(security: SecurityResult, variant: string): string[] {
  const present = new Set([...security.overall, ...security.suites].filter((rate) => rate.variant === variant).map((rate) => rate.defence));
  const declared = ['none', ...security.defences.map((defence) => defence.name)];
  return [...declared.filter((name) => present.has(name)), ...[...present].filter((name) => !declared.includes(name))];
}

/** A share as whole percent: 42%. */
export function wholePercent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/** A signed difference in whole points with a real minus: +4, −10, 0. */
export function signedWholePoints(value: number): string {
  const rounded = Math.round(value * 100);
  return `${rounded > 0 ? '+' : rounded < 0 ? '−' : ''}${Math.abs(rounded)}`;
}
