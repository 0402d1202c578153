/**
 * Thumbnails: an object URL per card, decoded lazily by the browser (`loading="lazy"`, `decoding="async"`),
 * so a drop of 1,000 photos decodes only what scrolls into view, off the main thread. Small JPEG data URLs
 * are made only for gallery entries, which outlive the page.
 */

export class ThumbnailUrls {
  private readonly urls = new Map<Blob, string>();

  get(blob: Blob): string {
    let url = this.urls.get(blob);
    if (!url) {
      url = URL.createObjectURL(blob);
      this.urls.set(blob, url);
    }
    return url;
  }

  releaseAll(): void {
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
  }
}

/** A JPEG of at most `size` px on its longer side as a data: URL, or '' if the browser cannot decode it. */
export async function thumbnailDataUrl(blob: Blob, size = 96): Promise<string> {
  try {
    // One decode (off the main thread); the canvas does the downscale.
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, size / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const hgt = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(w, hgt);
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingQuality = 'medium';
    ctx.drawImage(bitmap, 0, 0, w, hgt);
    bitmap.close();
    const jpeg = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
    return await new Promise<string>((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(jpeg);
    });
  } catch {
    return '';
  }
}
