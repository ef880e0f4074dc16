// Next-token choice over one row of logits: greedy, or temperature with top-k / top-p, from a seeded generator.

export interface SamplingParameters {
  temperature: number;
  /** 0 = the whole vocabulary. */
  topK: number;
  /** 1 = no nucleus cut. */
  topP: number;
}

/** Scratch buffers reused across steps, so sampling over a large vocabulary allocates nothing per token. */
export class Sampler {
  private weights = new Float64Array(0);
  private order = new Uint32Array(0);

  constructor(readonly parameters: SamplingParameters) {}

  /** Whether `pickFromProbabilities` can replace `pick`: sampling over the whole vocabulary at a temperature. */
  get readsProbabilities(): boolean {
    const { temperature, topK, topP } = this.parameters;
    return temperature > 0 && !(topK > 0) && !(topP < 1);
  }

  /**
   * Picks a token from a row of probabilities (the softmax of logits / temperature, computed elsewhere;
   * zeroed entries are left out): one sum and one scan, no exponentials. Draws one number from `random`, as `pick` does.
   */
  pickFromProbabilities(probabilities: Float32Array, random: () => number): number {
    const vocab = probabilities.length;
    let total = 0;
    for (let i = 0; i < vocab; i++) total += probabilities[i] as number;
    let remaining = random() * total;
    let last = -1;
    for (let i = 0; i < vocab; i++) {
      const weight = probabilities[i] as number;
      if (weight === 0) continue;
      last = i;
      remaining -= weight;
      if (remaining <= 0) return i;
    }
    // Rounding left a sliver: the last token with any weight (the first token if none has any).
    return Math.max(last, 0);
  }

  /** Picks a token from `logits` (one row). Greedy at temperature 0; ties go to the lowest id. */
  pick(logits: Float32Array, random: () => number): number {
    const vocab = logits.length;
    let max = -Infinity;
    let argmax = 0;
    for (let i = 0; i < vocab; i++) {
      const value = logits[i] as number;
      if (value > max) {
        max = value;
        argmax = i;
      }
    }
    const { temperature, topK, topP } = this.parameters;
    if (!(temperature > 0)) return argmax;

    if (this.weights.length !== vocab) {
      this.weights = new Float64Array(vocab);
      this.order = new Uint32Array(vocab);
    }
    const inverse = 1 / temperature;
    // Tokens more than ~30 nats below the best carry no probability mass worth keeping: skip them.
    const floor = max - 30 * temperature;
    if (!(topK > 0 && topK < vocab) && !(topP < 1)) {
      // The whole vocabulary: one pass of weights, one scan — no candidate list, nothing sorted.
      let total = 0;
      for (let i = 0; i < vocab; i++) {
        const value = logits[i] as number;
        const weight = value >= floor ? Math.exp((value - max) * inverse) : 0;
        this.weights[i] = weight;
        total += weight;
      }
      let remaining = random() * total;
      let last = argmax;
      for (let i = 0; i < vocab; i++) {
        const weight = this.weights[i] as number;
        if (weight === 0) continue;
        last = i;
        remaining -= weight;
        if (remaining <= 0) return i;
      }
      return last;
    }
    let count = 0;
    for (let i = 0; i < vocab; i++) {
      const value = logits[i] as number;
      if (value >= floor) this.order[count++] = i;
    }
    let candidates = this.order.subarray(0, count);
    if ((topK > 0 && topK < count) || topP < 1) {
      // Sorting only the survivors keeps top-k/top-p cheap even over 150k-token vocabularies.
      candidates.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
      if (topK > 0 && topK < count) candidates = candidates.subarray(0, topK);
    }
    let total = 0;
    for (let j = 0; j < candidates.length; j++) {
      const weight = Math.exp(((logits[candidates[j] as number] as number) - max) * inverse);
      this.weights[j] = weight;
      total += weight;
    }
    let kept = candidates.length;
    if (topP < 1) {
      let cumulative = 0;
      for (let j = 0; j < candidates.length; j++) {
        cumulative += this.weights[j] as number;
        if (cumulative >= topP * total) {
          kept = j + 1;
          total = cumulative;
          break;
        }
      }
    }
    let threshold = random() * total;
    for (let j = 0; j < kept; j++) {
      threshold -= this.weights[j] as number;
      if (threshold <= 0) return candidates[j] as number;
    }
    return candidates[kept - 1] as number;
  }
}
