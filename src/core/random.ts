// Seeds and random streams for sampled chains. Every chain gets its own stream, derived by hashing
// (run seed, variant, case id, sample index): a chain reproduces alone or in any batch, and chains of
// different cases never share a stream (sharing seed + i across cases made them move together).

const MASK64 = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const GOLDEN = 0x9e3779b97f4a7c15n;

/** SplitMix64's finalizer: a bijection of 64-bit values whose output bits each depend on every input bit. */
export function splitmix64(value: bigint): bigint {
  let z = (value + GOLDEN) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** FNV-1a over the UTF-8 bytes: a 64-bit fingerprint of a name, mixed further by splitmix64. */
function fingerprint(text: string): bigint {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK64;
  return hash;
}

/** The largest seed handed out: seeds stay exact JavaScript numbers and JSON integers. */
const SEED_BITS = 53n;

/**
 * The seed of one chain: splitmix64 chained over the run's seed, the variant, the case id and the sample
 * index, cut to 53 bits. Neighbouring inputs (sample 0 and 1, case "a" and "b") give unrelated seeds.
 */
export function chainSeed(runSeed: number, variant: string, caseId: string, sample: number): number {
  let state = splitmix64(BigInt(runSeed) & MASK64);
  for (const part of [fingerprint(variant), fingerprint(caseId), BigInt(sample)]) state = splitmix64(state ^ part);
  return Number(state >> (64n - SEED_BITS));
}

/** A seed an API accepts: llama.cpp and some servers take 32-bit seeds only, so remote seeds stay below 2³¹. */
export function apiSeed(seed: number): number {
  return seed % 0x80000000;
}

/** A fresh run seed, for runs whose prompt sets none (recorded in the run file so the run can be replayed). */
export function freshRunSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/**
 * xoshiro128** (Blackman & Vigna): 128 bits of state, period 2¹²⁸ − 1, 32-bit arithmetic only (fast in
 * JavaScript). Seeded through splitmix64, as its authors recommend, so any seed gives a well-mixed state.
 * Returns uniform numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  // The first two outputs of the SplitMix64 sequence started at the seed.
  const state = BigInt(Math.floor(seed)) & MASK64;
  const first = splitmix64(state);
  const second = splitmix64((state + GOLDEN) & MASK64);
  const next = xoshiro128(Number(first & 0xffffffffn), Number(first >> 32n), Number(second & 0xffffffffn), Number(second >> 32n));
  return () => next() / 4294967296;
}

/** The raw generator from a given state (32-bit words), returning unsigned 32-bit outputs. */
export function xoshiro128(s0: number, s1: number, s2: number, s3: number): () => number {
  let [a, b, c, d] = [s0 | 0, s1 | 0, s2 | 0, s3 | 0];
  // An all-zero state would stay zero.
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
