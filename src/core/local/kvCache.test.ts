import * as assert from 'node:assert/strict';
import { GrowingCache } from './kvCache';

const HEADS = 3;
const DIM = 2;

/** A reference cache as nested arrays: rows → heads → positions → values. */
type Nested = number[][][][];

function flatten(nested: Nested): Float32Array {
  return Float32Array.from(nested.flat(3));
}

let counter = 0;
function positions(rows: number, count: number): Nested {
  return Array.from({ length: rows }, () =>
    Array.from({ length: HEADS }, () => Array.from({ length: count }, () => Array.from({ length: DIM }, () => ++counter))),
  );
}

/** The positions a cache holds (its empty slots left out), as a flat array: what concatenation would give. */
function held(cache: GrowingCache, name: string): number[] {
  const view = cache.view(name);
  const out: number[] = [];
  for (let block = 0; block < cache.rows * HEADS; block++)
    out.push(...view.subarray(block * cache.slots * DIM, (block * cache.slots + cache.length) * DIM));
  return out;
}

describe('GrowingCache (the batch key/value cache kept between decoding steps)', () => {
  for (const slack of [0, 3])
    it(`replicates a one-row prefix, appends steps in place and drops finished rows, as concatenation would (slack ${slack})`, () => {
      const names = ['past_key_values.0.key', 'past_key_values.0.value'];
      const cache = new GrowingCache(names, HEADS, DIM, slack);
      // A one-row source of 5 positions, of which the first 4 are kept (a shared prompt prefix).
      const source = Object.fromEntries(names.map((name) => [name, positions(1, 5)])) as Record<string, Nested>;
      cache.start(Object.fromEntries(names.map((name) => [name, flatten(source[name] as Nested)])), 5, 4, 3, 10);
      const reference: Record<string, Nested> = Object.fromEntries(
        names.map((name) => [name, Array.from({ length: 3 }, () => (source[name] as Nested)[0]!.map((head) => head.slice(0, 4)))]),
      );
      const check = (): void => {
        for (const name of names) assert.deepEqual(held(cache, name), Array.from(flatten(reference[name] as Nested)), name);
        // The mask hides exactly the empty slots, in every row, and shows the step's new positions.
        const mask = Array.from(cache.attentionMask(1), Number);
        const row = [...new Array<number>(cache.length).fill(1), ...new Array<number>(cache.slots - cache.length).fill(0), 1];
        assert.deepEqual(mask, new Array<number[]>(cache.rows).fill(row).flat());
        if (slack === 0) assert.equal(cache.slots, cache.length);
      };
      check();
      assert.equal(cache.length, 4);

      const step = (added: number): void => {
        const updates: Record<string, Float32Array> = {};
        for (const name of names) {
          const fresh = positions(cache.rows, added);
          updates[name] = flatten(fresh);
          (reference[name] as Nested).forEach((row, r) => row.forEach((head, h) => head.push(...fresh[r]![h]!)));
        }
        cache.append(updates, added);
      };
      step(1);
      check();
      if (slack > 0) {
        assert.equal(cache.slots, 4 + 1 + slack, 'grown with empty slots');
        assert.throws(() => cache.take(), /empty slots/);
      }
      step(2);
      check();
      cache.keepRows([0, 2]);
      for (const name of names) reference[name] = [(reference[name] as Nested)[0]!, (reference[name] as Nested)[2]!];
      check();
      step(1);
      check();
      cache.keepRows([1]);
      for (const name of names) reference[name] = [(reference[name] as Nested)[1]!];
      check();
      step(2);
      check();
      assert.equal(cache.rows, 1);
      assert.equal(cache.length, 10);
    });

  it('refuses to grow past the room it was given', () => {
    const cache = new GrowingCache(['k'], HEADS, DIM);
    cache.start(undefined, 0, 0, 2, 2);
    cache.append({ k: flatten(positions(2, 2)) }, 2);
    assert.throws(() => cache.append({ k: flatten(positions(2, 1)) }, 1), /no room for 1 more/);
  });

  it('starts empty, adopts whole present caches, and refuses malformed updates', () => {
    const cache = new GrowingCache(['k'], HEADS, DIM);
    cache.start(undefined, 0, 0, 2, 4);
    assert.equal(cache.view('k').length, 0);
    assert.throws(() => cache.append({ k: new Float32Array(5) }, 1), /expected 12/);
    const present = flatten(positions(2, 3));
    cache.replace({ k: present }, 3);
    assert.equal(cache.length, 3);
    assert.equal(cache.view('k').buffer, present.buffer);
    assert.throws(() => cache.replace({ k: present }, 4), /does not hold 4/);
    assert.throws(() => cache.keepRows([1, 0]), /ascend/);
    assert.throws(() => cache.keepRows([2]), /no row 2/);
  });
});
