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
  | 'disposed';

export class EmbedderError extends Error {
  readonly code: EmbedderErrorCode = 'options';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A model file (ONNX, Paddle) could not be read or mapped onto PP-LCNet. */
export class ImportError extends EmbedderError {
  override readonly code = 'import' as const;
}

/** A weight manifest or shard does not match what the architecture needs. */
export class WeightsError extends EmbedderError {
  override readonly code = 'weights' as const;
}

/** An option had a value outside its valid set. */
export class OptionsError extends EmbedderError {
  override readonly code = 'options' as const;
}

/** No requested backend could be initialised. */
export class BackendError extends EmbedderError {
  override readonly code = 'backend' as const;
}

/** The embedder was used after dispose(). */
export class DisposedError extends EmbedderError {
  override readonly code = 'disposed' as const;
}

/** Errors about one image: they name the image and never abort the other images of a call. */
export class ImageError extends EmbedderError {
  override readonly code: 'image-decode' | 'image-format' | 'image-too-large' | 'image-empty' = 'image-decode';
  constructor(
    readonly imageName: string,
    reason: string,
  ) {
    super(`${imageName}: ${reason}`);
  }
}
export class ImageDecodeError extends ImageError {
  override readonly code = 'image-decode' as const;
}
export class UnsupportedImageFormatError extends ImageError {
  override readonly code = 'image-format' as const;
}
export class ImageTooLargeError extends ImageError {
  override readonly code = 'image-too-large' as const;
}
export class EmptyImageError extends ImageError {
  override readonly code = 'image-empty' as const;
}
