/** The element's events: prefixed, bubbling, composed, each with a declared `detail`. */
import type { EmbedderInfo, EmbeddingSuccess, Progress } from '../core/embedder-api.ts';
import type { EmbedderErrorCode } from '../core/errors.ts';

export interface ShituReadyDetail {
  readonly info: EmbedderInfo;
}

export type ShituProgressDetail = Progress;

export interface ShituEmbeddingDetail {
  /** Position among this element's results (drop order). */
  readonly index: number;
  readonly name: string;
  readonly embedding: Float32Array;
  /** With a classifier model: its top label and softmax probability (also `result.prediction`). */
  readonly prediction?: { readonly label: string; readonly score: number };
  readonly result: EmbeddingSuccess;
}

export interface ShituErrorDetail {
  /** The image's name when one image failed; absent for a model or element error. */
  readonly name?: string;
  readonly code: EmbedderErrorCode | 'element';
  readonly message: string;
}

export interface ShituRemovedDetail {
  /**
   * Images taken off the element by its duplicates view ("remove the others"): `embeddings` no longer holds
   * their results, so the indices of later results moved down. The element's `gallery` is yours: it is left
   * as it is.
   */
  readonly names: readonly string[];
  /** Their results, as they were in `embeddings`. */
  readonly results: readonly EmbeddingSuccess[];
}

export interface ShituEventMap {
  'shitu-ready': CustomEvent<ShituReadyDetail>;
  'shitu-progress': CustomEvent<ShituProgressDetail>;
  'shitu-embedding': CustomEvent<ShituEmbeddingDetail>;
  'shitu-error': CustomEvent<ShituErrorDetail>;
  'shitu-removed': CustomEvent<ShituRemovedDetail>;
}

export function shituEvent<K extends keyof ShituEventMap>(
  type: K,
  detail: ShituEventMap[K]['detail'],
): ShituEventMap[K] {
  return new CustomEvent(type, { detail, bubbles: true, composed: true }) as ShituEventMap[K];
}
