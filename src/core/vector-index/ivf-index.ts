/**
 * The approximate index: a coarse quantiser, its inverted lists over the slab's rows, and how many lists a
 * search probes. Lists hold slots, not copies: the rows stay where the exact scan reads them, and a probed
 * list is scored with the kernel's gather entry point. Scores are the same int8 scores as the exact scan's,
 * so the index misses a neighbour only when its list is not probed; calibrateNprobe measures exactly that.
 */
import type { CoarseQuantizer } from './coarse-quantizer.ts';
import { BLOCK, type Int8Slab } from './int8-slab.ts';
import { IvfLists } from './ivf-lists.ts';
import { TopK } from './top-k.ts';

const YIELD_EVERY = 256;

export class IvfIndex {
  readonly lists: IvfLists;
  private readonly listScores: Float32Array;
  private readonly scores = new Float32Array(BLOCK);

  constructor(
    readonly quantizer: CoarseQuantizer,
    /** Lists probed per search. */
    public nprobe: number,
  ) {
    this.lists = new IvfLists(quantizer.nlist);
    this.listScores = new Float32Array(quantizer.nlist);
  }

  get bytes(): number {
    return this.quantizer.bytes + this.lists.bytes + this.listScores.byteLength;
  }

  /** Puts row `slot` of `slab` in its list. */
  assign(slab: Int8Slab, slot: number): void {
    this.lists.insert(slot, this.quantizer.assign(slab, slot));
  }

  /**
   * Assigns every row of `slab`, a few hundred per step. Rows may be added, removed or moved between steps
   * (the caller forwards those changes to `lists`): a last sweep assigns whatever the cursor missed.
   */
  *assignAll(slab: Int8Slab): Generator<void, void> {
    this.lists.reserve(slab.size);
    for (let slot = 0; slot < slab.size; slot++) {
      if (this.lists.listOfSlot(slot) < 0) this.assign(slab, slot);
      if (slot % YIELD_EVERY === YIELD_EVERY - 1) yield;
    }
    for (let slot = 0; slot < slab.size; slot++) if (this.lists.listOfSlot(slot) < 0) this.assign(slab, slot);
  }

  /** The lists to probe for `query`, best first. */
  probe(query: ArrayLike<number>, nprobe = this.nprobe): Int32Array {
    const top = new TopK(Math.min(nprobe, this.quantizer.nlist));
    this.quantizer.scoreLists(query, this.listScores);
    top.pushBlock(this.listScores, this.quantizer.nlist, 0);
    return top.slots.subarray(0, top.size);
  }

  /** The best rows of the probed lists into `top` (the slab's query is set here). */
  search(slab: Int8Slab, query: ArrayLike<number>, top: TopK, nprobe = this.nprobe): void {
    const probed = this.probe(query, nprobe);
    slab.setQuery(query);
    for (const list of probed) {
      const slots = this.lists.list(list);
      for (let from = 0; from < slots.length; from += BLOCK) {
        const count = Math.min(BLOCK, slots.length - from);
        slab.scoreSlots(slots, from, count, this.scores);
        top.pushBlock(this.scores, count, 0, slots.subarray(from, from + count));
      }
    }
  }

  /** The rank (0 = probed first) of every list for `query`. */
  listRanks(query: ArrayLike<number>): Int32Array {
    const nlist = this.quantizer.nlist;
    this.quantizer.scoreLists(query, this.listScores);
    const order = Array.from({ length: nlist }, (_, i) => i).sort(
      (a, b) => this.listScores[b]! - this.listScores[a]! || a - b,
    );
    const rank = new Int32Array(nlist);
    order.forEach((list, r) => (rank[list] = r));
    return rank;
  }
}

/**
 * The smallest nprobe whose recall@k against the exact int8 scan reaches `target`, measured on rows of the
 * index used as queries (their own row left out). Each query's exact neighbours are found once; a neighbour
 * is found with nprobe n exactly when its list ranks below n for that query.
 */
export function* calibrateNprobe(
  slab: Int8Slab,
  ivf: IvfIndex,
  querySlots: Int32Array,
  k: number,
  target: number,
  /** The exact top-k, a generator so that a scan of a million rows is cut into steps too. */
  exactTop: (query: Float32Array, k: number) => Generator<void, TopK>,
): Generator<void, { nprobe: number; recall: number }> {
  const needed: number[] = [];
  const query = new Float32Array(slab.dim);
  for (const q of querySlots) {
    slab.decode(q, query);
    const exact = yield* exactTop(query, k + 1);
    const ranks = ivf.listRanks(query);
    let found = 0;
    for (let i = 0; i < exact.size && found < k; i++) {
      const slot = exact.slots[i]!;
      if (slot === q) continue;
      found++;
      needed.push(ranks[ivf.lists.listOfSlot(slot)]! + 1);
    }
    yield;
  }
  needed.sort((a, b) => a - b);
  if (needed.length === 0) return { nprobe: 1, recall: 1 };
  const at = Math.min(needed.length - 1, Math.ceil(target * needed.length) - 1);
  const nprobe = needed[at]!;
  return { nprobe, recall: needed.filter((n) => n <= nprobe).length / needed.length };
}
