/**
 * Embeds queued cards in small chunks, in drop order, one chunk in flight at a time. Small chunks keep
 * every card's state current ("embedding" means: in the worker now) and each reply small, so the main thread
 * never handles a large message at once, even for a drop of 1,000 images. The page and <shitu-embedder> both
 * embed through it.
 */
import type { EmbeddingResult } from '../core/embedder-api.ts';
import { asEmbedderError, errorCodeOf } from '../core/errors.ts';
import type { Card, Session } from './session.ts';

export interface EmbedTarget {
  embed(images: readonly { id: string; name: string; image: Blob }[]): Promise<EmbeddingResult[]>;
}

export interface QueueProgress {
  readonly done: number;
  readonly total: number;
  /** Of `done`, the cards whose image was already in the gallery: its stored vector was used, not the worker. */
  readonly reused: number;
  /** Mean worker time per image in the last chunk (decode + preprocess + inference). */
  readonly msPerImage: number | undefined;
}

/** A stored embedding for an image already seen (the page's gallery, by content hash), if there is one. */
export type KnownEmbedding = (file: Blob) => Promise<{ id: string; embedding: Float32Array } | undefined>;

/** A card of the current generation and what the worker said about it. */
export interface SettledCard {
  readonly card: Card;
  readonly result: EmbeddingResult;
}

export class EmbedQueue {
  private running = false;
  private target: EmbedTarget | undefined;
  private generation = 0;
  private done = 0;
  private total = 0;
  private reused = 0;

  constructor(
    private readonly session: Session,
    /** Cards per call: a number, or read before each chunk (the element's batch-size attribute may change). */
    private readonly chunkSize: number | (() => number),
    private readonly onProgress: (p: QueueProgress) => void,
    /** The chunk's cards that now have an embedding. */
    private readonly onEmbedded: (cards: readonly Card[]) => void,
    /** Every card of the chunk with its result, in card order, after the cards were updated. */
    private readonly onSettled: (settled: readonly SettledCard[]) => void = () => undefined,
    /** Images already embedded with this model (a re-dropped gallery image) skip the worker. */
    private readonly known?: KnownEmbedding,
  ) {}

  /** A new model: chunks already in flight for the old one are discarded when they return. */
  setTarget(target: EmbedTarget | undefined): void {
    this.target = target;
    this.generation++;
    this.done = 0;
    this.reused = 0;
    this.total = this.session.cards.filter((c) => c.status === 'queued').length;
    this.kick();
  }

  /** After the session was cleared: whatever is in flight belongs to cards that are gone. */
  reset(): void {
    this.generation++;
    this.done = 0;
    this.reused = 0;
    this.total = 0;
  }

  /** Call after cards were queued. */
  kick(): void {
    this.total = this.done + this.session.cards.filter((c) => c.status === 'queued' || c.status === 'embedding').length;
    if (!this.running && this.target) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const target = this.target;
        const generation = this.generation;
        const size = typeof this.chunkSize === 'function' ? this.chunkSize() : this.chunkSize;
        const queued = this.session.cards.filter((c) => c.status === 'queued').slice(0, Math.max(1, size));
        if (!target || queued.length === 0) break;
        for (const c of queued) c.status = 'embedding';
        this.session.update(queued);
        const reused = await this.reuseKnown(queued);
        if (generation !== this.generation) {
          for (const c of queued) if (c.status === 'embedding') c.status = 'queued';
          continue;
        }
        const chunk = queued.filter((c) => !reused.has(c));
        let results: EmbeddingResult[];
        try {
          results =
            chunk.length === 0
              ? []
              : await target.embed(chunk.map((c) => ({ id: String(c.index), name: c.name, image: c.file })));
        } catch (e) {
          // The whole call failed (worker gone, model disposed): say so on each card, keep the rest queued.
          // The error's own code when it has one (the client restores typed errors), else 'internal'.
          const error = { code: errorCodeOf(e), message: asEmbedderError(e).message };
          results = chunk.map((c): EmbeddingResult => ({ ok: false, id: String(c.index), name: c.name, error }));
        }
        if (generation !== this.generation) {
          for (const c of chunk) if (c.status === 'embedding') c.status = 'queued';
          continue;
        }
        // Cards are matched by index (never reused); a clear() bumps the generation first.
        let workerMs = 0;
        const settled: SettledCard[] = [];
        for (const r of results) {
          const card = this.session.card(Number(r.id));
          if (!card) continue;
          settled.push({ card, result: r });
          if (r.ok) {
            card.status = 'done';
            card.embedding = r.embedding;
            card.prediction = r.prediction;
            workerMs += r.timings.decodeMs + r.timings.preprocessMs + r.timings.inferenceMs;
          } else {
            card.status = 'error';
            card.error = r.error.message;
          }
        }
        for (const [card, result] of reused) if (this.session.has(card)) settled.push({ card, result });
        settled.sort((a, b) => a.card.index - b.card.index);
        this.done += queued.length;
        this.reused += reused.size;
        // A card removed while its chunk was out is not brought back by its result.
        const live = queued.filter((c) => this.session.has(c));
        this.session.update(live);
        this.onEmbedded(live.filter((c) => c.status === 'done'));
        this.onSettled(settled);
        const ok = results.filter((r) => r.ok).length;
        this.onProgress({
          done: this.done,
          total: Math.max(this.total, this.done),
          reused: this.reused,
          msPerImage: ok > 0 ? workerMs / ok : undefined,
        });
      }
    } finally {
      this.running = false;
    }
  }

  /** Cards whose image is already known take its stored vector (and gallery entry) without the worker. */
  private async reuseKnown(cards: readonly Card[]): Promise<Map<Card, EmbeddingResult>> {
    const out = new Map<Card, EmbeddingResult>();
    if (!this.known) return out;
    const found = await Promise.all(cards.map((c) => this.known!(c.file).catch(() => undefined)));
    cards.forEach((card, i) => {
      const k = found[i];
      if (!k) return;
      card.status = 'done';
      card.embedding = k.embedding;
      card.galleryId = k.id;
      out.set(card, {
        ok: true,
        id: String(card.index),
        name: card.name,
        embedding: k.embedding,
        width: 0,
        height: 0,
        timings: { decodeMs: 0, preprocessMs: 0, inferenceMs: 0 },
      });
    });
    return out;
  }
}
