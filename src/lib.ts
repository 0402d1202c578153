/**
 * dist/lib/shitu-web.js: the element and the API in one module, for a `<script type="module">` or a CDN
 * (examples/embed.html). Apps that install the package import `shitu-web` (src/index.ts) and
 * `shitu-web/element` (src/element/index.ts) instead; the entries share their chunks.
 *
 * It registers the element itself rather than importing src/element/index.ts: a module two entries import
 * goes to a shared chunk, and the registration must stay in the entry files package.json's `sideEffects`
 * names, or an app's bundler may drop it.
 */
import { defineShituEmbedder } from './element/shitu-embedder.ts';

export {
  DEFAULT_VIEW,
  ShituEmbedderElement,
  VIEW_PARTS,
  type EmbeddingRef,
  type ViewPart,
} from './element/shitu-embedder.component.ts';
export { defineShituEmbedder, TAG_NAME } from './element/shitu-embedder.ts';
export { sharedEmbedderCount } from './element/shared-client.ts';
export type {
  ShituEmbeddingDetail,
  ShituErrorDetail,
  ShituEventMap,
  ShituProgressDetail,
  ShituReadyDetail,
  ShituRemovedDetail,
} from './element/events.ts';
export * from './index.ts';

defineShituEmbedder();
