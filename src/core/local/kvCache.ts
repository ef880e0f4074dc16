// The key/value cache of a batch of rows, kept by us rather than taken from the model's `present.*`
// outputs at every step: per cache input, a dense [rows, kvHeads, slots, headDim] block at the front of
// a buffer allocated once with room to grow. A step appends its new positions in place, so decoding
// allocates nothing per step (fresh multi-megabyte buffers cost page faults and collections).
//
// With `slack`, a row holds a few empty slots after its positions, which the attention mask hides
// (padding inside the sequence, as in a left-padded batch). A step then writes its new positions into
// the next empty slots and moves nothing; only when the slots run out is every block moved to a longer
// stride (moving the whole cache at every step cost as much as a tenth of a batched step).

export class GrowingCache {
  private readonly buffers = new Map<string, Float32Array>();
  private rowCount = 0;
  private positions = 0;
  private slotCount = 0;

  constructor(
    readonly names: readonly string[],
    readonly kvHeads: number,
    readonly headDim: number,
    /** Empty slots added past the positions whenever the cache must grow (0: always exactly its length). */
    readonly slack = 0,
  ) {}

  get rows(): number {
    return this.rowCount;
  }

  /** Positions held per row. */
  get length(): number {
    return this.positions;
  }

  /** Slots per row as the model sees them: the positions, then (with slack) empty slots it must mask. */
  get slots(): number {
    return this.slotCount;
  }

  /**
   * Starts `rows` identical rows from the first `length` positions of a one-row cache whose arrays hold
   * `sourceLength` positions each (absent: an empty cache), with room for `capacity` positions per row.
   */
  start(
    source: Readonly<Record<string, Float32Array>> | undefined,
    sourceLength: number,
    length: number,
    rows: number,
    capacity: number,
  ): void {
    if (length > sourceLength || length > capacity)
      throw new RangeError(`cannot start ${length} positions from ${sourceLength} with room for ${capacity}`);
    const head = this.headDim;
    const block = length * head;
    for (const name of this.names) {
      const buffer = new Float32Array(rows * this.kvHeads * capacity * head);
      const from = source?.[name];
      if (length > 0) {
        if (!from || from.length < this.kvHeads * sourceLength * head) throw new RangeError(`cache ${name} is missing or too short`);
        for (let h = 0; h < this.kvHeads; h++)
          buffer.set(from.subarray(h * sourceLength * head, h * sourceLength * head + block), h * block);
        const rowSize = this.kvHeads * block;
        for (let row = 1; row < rows; row++) buffer.copyWithin(row * rowSize, 0, rowSize);
      }
      this.buffers.set(name, buffer);
    }
    this.rowCount = rows;
    this.positions = length;
    this.slotCount = length;
  }

  /** The cache of `name` as the model is fed it: [rows, kvHeads, slots, headDim]. */
  view(name: string): Float32Array {
    const buffer = this.buffers.get(name);
    if (!buffer) throw new RangeError(`no cache ${name}`);
    return buffer.subarray(0, this.rowCount * this.kvHeads * this.slotCount * this.headDim);
  }

  /** The attention mask of a step adding `added` positions to every row: 1 for positions, 0 for empty slots. */
  attentionMask(added: number): BigInt64Array {
    const width = this.slotCount + added;
    const mask = new BigInt64Array(this.rowCount * width).fill(1n);
    if (this.slotCount > this.positions)
      for (let row = 0; row < this.rowCount; row++) mask.fill(0n, row * width + this.positions, row * width + this.slotCount);
    return mask;
  }

  /** Appends `added` positions to every row: `updates[name]` is [rows, kvHeads, added, headDim]. */
  append(updates: Readonly<Record<string, Float32Array>>, added: number): void {
    const head = this.headDim;
    const blocks = this.rowCount * this.kvHeads;
    const needed = this.positions + added;
    let slots = this.slotCount;
    if (needed > slots) {
      const capacity = Math.floor((this.buffers.get(this.names[0] as string)?.length ?? 0) / (blocks * head));
      slots = Math.min(Math.max(capacity, needed), needed + this.slack);
    }
    const oldBlock = this.slotCount * head;
    const newBlock = slots * head;
    const addedBlock = added * head;
    const at = this.positions * head;
    for (const name of this.names) {
      const buffer = this.buffers.get(name);
      const update = updates[name];
      if (!buffer || buffer.length < blocks * newBlock) throw new RangeError(`cache ${name} has no room for ${added} more positions`);
      if (!update || update.length !== blocks * addedBlock)
        throw new RangeError(`update of ${name} has ${update?.length ?? 0} values, expected ${blocks * addedBlock}`);
      // From the last block down, so that no block is overwritten before it has moved.
      for (let block = blocks - 1; block >= 0; block--) {
        if (newBlock !== oldBlock && block > 0 && at > 0) buffer.copyWithin(block * newBlock, block * oldBlock, block * oldBlock + at);
        buffer.set(update.subarray(block * addedBlock, (block + 1) * addedBlock), block * newBlock + at);
      }
    }
    this.positions = needed;
    this.slotCount = slots;
  }

  /**
   * Replaces the cache with a whole new one of `length` positions (a model's `present.*` outputs, when
   * its new positions cannot be read on their own). The arrays are adopted, not copied.
   */
  replace(presents: Readonly<Record<string, Float32Array>>, length: number): void {
    for (const name of this.names) {
      const present = presents[name];
      if (!present || present.length !== this.rowCount * this.kvHeads * length * this.headDim)
        throw new RangeError(`present ${name} does not hold ${length} positions`);
      this.buffers.set(name, present);
    }
    this.positions = length;
    this.slotCount = length;
  }

  /** Keeps the given rows, in this order (ascending row numbers), dropping the others. */
  keepRows(rows: readonly number[]): void {
    const rowSize = this.kvHeads * this.slotCount * this.headDim;
    rows.forEach((row, index) => {
      if (row < index || (index > 0 && row <= (rows[index - 1] as number))) throw new RangeError('rows to keep must ascend');
      if (row >= this.rowCount) throw new RangeError(`no row ${row}`);
    });
    for (const buffer of this.buffers.values()) {
      rows.forEach((row, index) => {
        if (row !== index) buffer.copyWithin(index * rowSize, row * rowSize, (row + 1) * rowSize);
      });
    }
    this.rowCount = rows.length;
  }

  /** The dense arrays, handed over: the cache must not change afterwards (they become the prefix cache's). */
  take(): Record<string, Float32Array> {
    if (this.slotCount !== this.positions) throw new RangeError('a cache with empty slots cannot be handed over');
    const result: Record<string, Float32Array> = {};
    for (const name of this.names) result[name] = this.view(name);
    return result;
  }
}
