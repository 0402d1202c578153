/**
 * Turns an importer's refusal into words a first-time user can act on. The importers' messages are exact
 * (which node, which tensor, what was expected) and stay available as details; the headline says, without
 * jargon, which of three things went wrong and what to do. Pure: tested in Node.
 */

export interface ImportFailure {
  /** One sentence: what went wrong, in plain words. */
  readonly headline: string;
  /** What the user can do about it. */
  readonly advice: string;
  /** The importer's own message, for an issue report or an expert. */
  readonly details: string;
}

/** The file set is incomplete or ambiguous (import-files.ts says which files and what it needs). */
const FILE_SET =
  /choose a model folder|needs its (weights|program)|weight files \(\.pdiparams\) were given|cannot tell what model/;
/** The bytes are not what the name says, or the file is cut short. */
const UNREADABLE =
  /at byte \d|wire type|is not a Paddle PIR program|not valid JSON|is not an ONNX|truncated|is missing$|unexpected end/i;

export function explainImportFailure(message: string, fileNames: readonly string[]): ImportFailure {
  const files = fileNames.length === 1 ? fileNames[0]! : `these ${fileNames.length} files`;
  if (FILE_SET.test(message)) {
    return {
      headline:
        fileNames.length === 1 ? `${fileNames[0]} is not a complete model.` : 'These files are not a complete model.',
      advice:
        'Pick the whole model folder (inference.pdmodel or inference.json, inference.pdiparams and inference.yml), or one .onnx file.',
      details: message,
    };
  }
  if (UNREADABLE.test(message)) {
    return {
      headline: `A file could not be read: ${files} may be damaged, or not the kind of file its name says.`,
      advice: 'Export the model again (PaddleClas tools/export_model.py, or paddle2onnx) and pick the new files.',
      details: message,
    };
  }
  return {
    headline: "This model's network is not one ShiTu Web can run.",
    advice:
      "ShiTu Web runs PP-LCNet networks (any scale), ending in PP-ShiTu's embedding neck or in a classifier's fc: " +
      'the feature extractor of PP-ShiTu, or a PP-LCNet classifier. The details say where this one differs.',
    details: message,
  };
}
