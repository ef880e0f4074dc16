// The key/value cache of a batch of rows, kept by us rather than taken from the model's `present.*`
// outputs at every step: per cache input, a dense [rows, kvHeads, length, headDim] block at the front of
// a buffer allocated once with room to grow. A step appends its new positions in place, so decoding
// allocates nothing per step (fresh multi-megabyte buffers cost page faults and collections).

export class GrowingCache {
  private readonly buffers = new Map<string, Float32Array>();
  private rowCount = 0;
  private positions = 0;

  constructor(
    readonly names: readonly string[],
    readonly kvHeads: number,
    readonly headDim: number,
  ) {}

  get rows(): number {
    return this.rowCount;
  }

  get length(): number {
    return this.positions;
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
  }

  /** The dense cache of `name`: [rows, kvHeads, length, headDim]. */
  view(name: string): Float32Array {
    const buffer = this.buffers.get(name);
    if (!buffer) throw new RangeError(`no cache ${name}`);
    return buffer.subarray(0, this.rowCount * this.kvHeads * this.positions * this.headDim);
  }

  /** Appends `added` positions to every row: `updates[name]` is [rows, kvHeads, added, headDim]. */
  append(updates: Readonly<Record<string, Float32Array>>, added: number): void {
    const head = this.headDim;
    const oldBlock = this.positions * head;
    const newBlock = (this.positions + added) * head;
    const addedBlock = added * head;
    const blocks = this.rowCount * this.kvHeads;
    for (const name of this.names) {
      const buffer = this.buffers.get(name);
      const update = updates[name];
      if (!buffer || buffer.length < blocks * newBlock) throw new RangeError(`cache ${name} has no room for ${added} more positions`);
      if (!update || update.length !== blocks * addedBlock)
        throw new RangeError(`update of ${name} has ${update?.length ?? 0} values, expected ${blocks * addedBlock}`);
      // From the last block down, so that no block is overwritten before it has moved.
      for (let block = blocks - 1; block >= 0; block--) {
        if (block > 0 && oldBlock > 0) buffer.copyWithin(block * newBlock, block * oldBlock, block * oldBlock + oldBlock);
        buffer.set(update.subarray(block * addedBlock, (block + 1) * addedBlock), block * newBlock + oldBlock);
      }
    }
    this.positions += added;
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
  }

  /** Keeps the given rows, in this order (ascending row numbers), dropping the others. */
  keepRows(rows: readonly number[]): void {
    const rowSize = this.kvHeads * this.positions * this.headDim;
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
    const result: Record<string, Float32Array> = {};
    for (const name of this.names) result[name] = this.view(name);
    return result;
  }
}
