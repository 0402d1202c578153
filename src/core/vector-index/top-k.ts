/**
 * The k best (slot, score) pairs of a scan, best first. Insertion into a short sorted array: almost every
 * score of a large scan is below the current k-th and costs one comparison. On equal scores the earlier
 * row stays ahead, as a stable sort of the scores would have it.
 */
export class TopK {
  readonly slots: Int32Array;
  readonly scores: Float64Array;
  size = 0;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`TopK: k must be a positive integer; got ${k}`);
    this.slots = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** The score a row must beat to enter. */
  get floor(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[this.k - 1]!;
  }

  push(slot: number, score: number): void {
    if (this.size === this.k && !(score > this.scores[this.k - 1]!)) return;
    let i = this.size < this.k ? this.size++ : this.k - 1;
    while (i > 0 && score > this.scores[i - 1]!) {
      this.scores[i] = this.scores[i - 1]!;
      this.slots[i] = this.slots[i - 1]!;
      i--;
    }
    this.scores[i] = score;
    this.slots[i] = slot;
  }

  /** A block of scores from one kernel call: row r of the block is slot `slots[r]`, or `first + r`. */
  pushBlock(scores: Float32Array, count: number, first: number, slots?: Int32Array): void {
    let floor = this.floor;
    for (let r = 0; r < count; r++) {
      const s = scores[r]!;
      if (s > floor) {
        this.push(slots ? slots[r]! : first + r, s);
        floor = this.floor;
      }
    }
  }
}
