/**
 * Gallery images are keyed by their content: the SHA-256 of the file's bytes (Web Crypto, off the main
 * thread), so the same photo dropped again, under any name, is recognised as already in the gallery.
 */

/** The hex SHA-256 of the blob's bytes, or undefined where Web Crypto is missing (a page over plain http). */
export async function contentHash(blob: Blob): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
