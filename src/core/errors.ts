/**
 * Typed errors. Each carries what a user can act on: which file or tensor, what was wrong, what to do.
 * `code` is stable across the worker boundary (comlink serialises errors to plain objects).
 */
export type EmbedderErrorCode =
  | 'import'
  | 'weights'
  | 'options'
  | 'image-decode'
  | 'image-format'
  | 'image-too-large'
  | 'image-empty'
  | 'backend'
  | 'disposed'
  | 'gallery-format'
  | 'internal';

export const EMBEDDER_ERROR_CODES: readonly EmbedderErrorCode[] = [
  'import',
  'weights',
  'options',
  'image-decode',
  'image-format',
  'image-too-large',
  'image-empty',
  'backend',
  'disposed',
  'gallery-format',
  'internal',
];

// Each class names itself with a string literal, not `new.target.name`: an app's minifier renames classes, and
// the name is what restoreError() rebuilds the class from on the other side of the worker boundary.
export class EmbedderError extends Error {
  override name = 'EmbedderError';
  readonly code: EmbedderErrorCode = 'options';
}

/** A model file (ONNX, Paddle) could not be read or mapped onto PP-LCNet. */
export class ImportError extends EmbedderError {
  override name = 'ImportError';
  override readonly code = 'import' as const;
}

/** A weight manifest or shard does not match what the architecture needs. */
export class WeightsError extends EmbedderError {
  override name = 'WeightsError';
  override readonly code = 'weights' as const;
}

/** An option had a value outside its valid set. */
export class OptionsError extends EmbedderError {
  override name = 'OptionsError';
  override readonly code = 'options' as const;
}

/** No requested backend could be initialised. */
export class BackendError extends EmbedderError {
  override name = 'BackendError';
  override readonly code = 'backend' as const;
}

/** The embedder was used after dispose(). */
export class DisposedError extends EmbedderError {
  override name = 'DisposedError';
  override readonly code = 'disposed' as const;
}

/**
 * A gallery exchange file (faiss vector.index, id_map.pkl, .npy, JSONL) could not be read, or a gallery cannot be
 * written in a format: the message names the file or the entry and what is wrong.
 */
export class GalleryFormatError extends EmbedderError {
  override name = 'GalleryFormatError';
  override readonly code = 'gallery-format' as const;
}

/**
 * Anything that is not one of the errors above: a bug, or a failure no code describes (a worker that died, a
 * browser API that threw). Callers get this code instead of one guessed from the context.
 */
export class InternalError extends EmbedderError {
  override name = 'InternalError';
  override readonly code = 'internal' as const;
}

/** Errors about one image: they name the image and never abort the other images of a call. */
export class ImageError extends EmbedderError {
  override name = 'ImageError';
  override readonly code: 'image-decode' | 'image-format' | 'image-too-large' | 'image-empty' = 'image-decode';
  constructor(
    readonly imageName: string,
    reason: string,
  ) {
    super(`${imageName}: ${reason}`);
  }
}
export class ImageDecodeError extends ImageError {
  override name = 'ImageDecodeError';
  override readonly code = 'image-decode' as const;
}
export class UnsupportedImageFormatError extends ImageError {
  override name = 'UnsupportedImageFormatError';
  override readonly code = 'image-format' as const;
}
export class ImageTooLargeError extends ImageError {
  override name = 'ImageTooLargeError';
  override readonly code = 'image-too-large' as const;
}
export class EmptyImageError extends ImageError {
  override name = 'EmptyImageError';
  override readonly code = 'image-empty' as const;
}

/** `e` if it is an EmbedderError, else an InternalError with its message. */
export function asEmbedderError(e: unknown): EmbedderError {
  if (e instanceof EmbedderError) return e;
  const message = (e as { message?: unknown } | null)?.message;
  return new InternalError(typeof message === 'string' && message !== '' ? message : String(e));
}

/**
 * The code of anything thrown: an error's own `code` when it is one of EmbedderErrorCode (errors rebuilt from
 * the worker, plain objects from comlink), else 'internal'.
 */
export function errorCodeOf(e: unknown): EmbedderErrorCode {
  const code = (e as { code?: unknown } | null)?.code;
  return EMBEDDER_ERROR_CODES.includes(code as EmbedderErrorCode) ? (code as EmbedderErrorCode) : 'internal';
}

const RESTORABLE: Readonly<Record<string, new (message: string) => EmbedderError>> = Object.freeze({
  ImportError,
  WeightsError,
  OptionsError,
  BackendError,
  DisposedError,
  GalleryFormatError,
  InternalError,
  EmbedderError,
});

/**
 * The typed error for something thrown across the worker boundary: comlink sends errors as plain
 * { name, message }, so the class is rebuilt from its name and `instanceof` and `code` work for callers.
 * Anything else (a TypeError from a bug, a worker that failed) becomes an InternalError, code 'internal',
 * with the original as its `cause`.
 */
export function restoreError(e: unknown): EmbedderError {
  if (e instanceof EmbedderError) return e;
  const name = (e as { name?: unknown } | null)?.name;
  const Cls = typeof name === 'string' && Object.hasOwn(RESTORABLE, name) ? RESTORABLE[name] : undefined;
  if (Cls) return new Cls(String((e as { message?: unknown }).message ?? ''));
  const restored = asEmbedderError(e);
  Object.defineProperty(restored, 'cause', { value: e, configurable: true, writable: true });
  return restored;
}
