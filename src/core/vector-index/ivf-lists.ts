/**
 * The inverted lists: for each cell, the slots of the vectors in it, kept in step with the slab as rows are
 * added, removed (the slab moves its last row into the hole) and rebuilt. Each slot knows its list and its
 * position there, so every change is O(1).
 */
export class IvfLists {
  private readonly lists: Int32Array[];
  private readonly lengths: Int32Array;
  private listOf = new Int32Array(0);
  private posOf = new Int32Array(0);

  constructor(readonly nlist: number) {
    this.lists = Array.from({ length: nlist }, () => new Int32Array(16));
    this.lengths = new Int32Array(nlist);
  }

  get bytes(): number {
    return this.lists.reduce((s, l) => s + l.byteLength, 0) + this.listOf.byteLength * 2 + this.lengths.byteLength;
  }

  /** Room for slots 0..capacity-1 (new ones unassigned). */
  reserve(capacity: number): void {
    if (capacity <= this.listOf.length) return;
    const n = Math.max(capacity, Math.ceil(this.listOf.length * 1.5));
    const listOf = new Int32Array(n).fill(-1);
    listOf.set(this.listOf);
    this.listOf = listOf;
    const posOf = new Int32Array(n);
    posOf.set(this.posOf);
    this.posOf = posOf;
  }

  /** The list of `slot`, or -1 when it is in none. */
  listOfSlot(slot: number): number {
    return slot < this.listOf.length ? this.listOf[slot]! : -1;
  }

  insert(slot: number, list: number): void {
    this.reserve(slot + 1);
    if (this.listOf[slot] !== -1) this.remove(slot);
    let l = this.lists[list]!;
    const n = this.lengths[list]!;
    if (n === l.length) {
      const grown = new Int32Array(l.length * 2);
      grown.set(l);
      this.lists[list] = l = grown;
    }
    l[n] = slot;
    this.lengths[list] = n + 1;
    this.listOf[slot] = list;
    this.posOf[slot] = n;
  }

  /** Takes `slot` out of its list (a no-op when it is in none). */
  remove(slot: number): void {
    const list = this.listOfSlot(slot);
    if (list < 0) return;
    const l = this.lists[list]!;
    const last = --this.lengths[list]!;
    const pos = this.posOf[slot]!;
    const moved = l[last]!;
    l[pos] = moved;
    this.posOf[moved] = pos;
    this.listOf[slot] = -1;
  }

  /** The slab moved row `from` to slot `to` (which was just removed). */
  move(from: number, to: number): void {
    const list = this.listOfSlot(from);
    this.reserve(to + 1);
    this.listOf[to] = list;
    if (list < 0) return;
    this.posOf[to] = this.posOf[from]!;
    this.lists[list]![this.posOf[from]!] = to;
    this.listOf[from] = -1;
  }

  /** The slots of a list: a view, valid until the next change. */
  list(list: number): Int32Array {
    return this.lists[list]!.subarray(0, this.lengths[list]!);
  }

  sizes(): Int32Array {
    return this.lengths.slice();
  }
}
