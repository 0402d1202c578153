/**
 * A model's parameters as plain data, keyed by PaddleClas state_dict names (see src/model/parameters.ts):
 * the meeting point of the importers, the weight manifest and the builder.
 * Layouts are Paddle's: conv weights OIHW, Linear weights [in, out].
 */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type StateDict = Map<string, NamedTensor>;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
