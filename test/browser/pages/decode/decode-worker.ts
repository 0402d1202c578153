/**
 * Test-only worker: runs decodeImage on what the page sends and answers with plain data (errors flattened
 * to name / code / imageName / message, since structured cloning keeps only a standard Error's name).
 */
import { decodeImage } from '../../../../src/worker/decode-image.ts';

declare const self: DedicatedWorkerGlobalScope;

export interface DecodeRequest {
  readonly id: number;
  readonly name: string;
  readonly input: Blob | ImageBitmap | ImageData;
  readonly maxPixels: number;
}

export type DecodeReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly width: number;
      readonly height: number;
      readonly format: string;
      readonly decodeMs: number;
      readonly readBack: string;
      readonly data: Uint8ClampedArray;
      /** For ImageBitmap input: its width after the call, to show decodeImage left it open. */
      readonly bitmapWidthAfter?: number;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { name: string; code?: string; imageName?: string; message: string };
    };

self.addEventListener('message', (event: MessageEvent<DecodeRequest>) => {
  void handle(event.data);
});

async function handle({ id, name, input, maxPixels }: DecodeRequest): Promise<void> {
  let reply: DecodeReply;
  try {
    const result = await decodeImage(input, name, { maxPixels });
    const data = Uint8ClampedArray.from(result.pixels.data);
    const bitmapWidthAfter = input instanceof ImageBitmap ? input.width : undefined;
    const { width, height, format, decodeMs, readBack } = result;
    reply = { id, ok: true, width, height, format, decodeMs, readBack, data, bitmapWidthAfter };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const extra = err as Error & { code?: string; imageName?: string };
    reply = {
      id,
      ok: false,
      error: { name: err.name, code: extra.code, imageName: extra.imageName, message: err.message },
    };
  }
  // The bitmap came here by transfer, so this side owns it now: decodeImage never closes its callers' bitmaps.
  if (input instanceof ImageBitmap) input.close();
  self.postMessage(reply, reply.ok ? [reply.data.buffer] : []);
}
