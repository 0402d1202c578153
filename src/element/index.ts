/**
 * The `shitu-web/element` entry: importing it registers <shitu-embedder> (once; safe to import twice).
 * The element runs on the same client as `createEmbedder` (the `shitu-web` entry), so both share chunks.
 */
import { defineShituEmbedder } from './shitu-embedder.ts';

export { ShituEmbedderElement, VIEW_PARTS, type EmbeddingRef, type ViewPart } from './shitu-embedder.component.ts';
export { defineShituEmbedder, TAG_NAME } from './shitu-embedder.ts';
export { sharedEmbedderCount } from './shared-client.ts';
export type {
  ShituEmbeddingDetail,
  ShituErrorDetail,
  ShituEventMap,
  ShituProgressDetail,
  ShituReadyDetail,
  ShituRemovedDetail,
} from './events.ts';

defineShituEmbedder();
