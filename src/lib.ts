/**
 * The library bundle's entry (dist/lib/shitu-web.js): importing it registers <shitu-embedder> once.
 * Everything resolves relative to this module's URL: the worker, the wasm files and the default model.
 */
import { defineShituEmbedder } from './element/shitu-embedder.ts';

export { ShituEmbedderElement, VIEW_PARTS, type EmbeddingRef, type ViewPart } from './element/shitu-embedder.component.ts';
export { defineShituEmbedder, TAG_NAME } from './element/shitu-embedder.ts';
export { sharedEmbedderCount } from './element/shared-client.ts';
export type { ShituEmbeddingDetail, ShituErrorDetail, ShituEventMap, ShituProgressDetail, ShituReadyDetail } from './element/events.ts';
export * from './index.ts';

defineShituEmbedder();
