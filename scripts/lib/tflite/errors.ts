/**
 * What can go wrong reading or running a TFLite file. Both are ImportErrors (a model file that could not be
 * read or mapped), so callers that already report those need nothing new.
 */
import { ImportError } from '../../../src/core/errors.ts';

/** The bytes are not a readable TFLite flatbuffer (truncated, wrong identifier, an offset out of range). */
export class TfliteFormatError extends ImportError {}

/** A well-formed file that uses something this runner does not implement (an op, an activation, a type). */
export class TfliteUnsupportedError extends ImportError {}
