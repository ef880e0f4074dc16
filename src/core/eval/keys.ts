/**
 * Typed keys for the two units of a run: a cell (one variant on one case) and a sample (one chain of a
 * cell). Branded strings, so a cell key can never be passed where a sample key is expected.
 */
export type CellKey = string & { readonly __brand: 'CellKey' };
export type SampleKey = string & { readonly __brand: 'SampleKey' };

// NUL cannot occur in a variant name or case id written in YAML or a dataset, so keys never collide.
const SEPARATOR = '\u0000';

export function cellKey(variant: string, caseId: string): CellKey {
  return `${variant}${SEPARATOR}${caseId}` as CellKey;
}

export function sampleKey(variant: string, caseId: string, sample: number): SampleKey {
  return `${variant}${SEPARATOR}${caseId}${SEPARATOR}${sample}` as SampleKey;
}

/** The sample key of anything that names its variant, case and sample (records, chains, requests). */
export function keyOfSample(item: { variant: string; caseId: string; sample: number }): SampleKey {
  return sampleKey(item.variant, item.caseId, item.sample);
}
