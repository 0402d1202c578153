/**
 * Python's idea of whitespace, which decides what PaddleClas's predict_system reads from an id_map line: it takes
 * the label as `id_map[id].split()[1]`, and str.split() with no argument splits on runs of exactly these
 * characters (str.isspace(); checked with CPython 3.11 over every code point). JavaScript's \s differs: it lacks
 * \x1c-\x1f and \x85 and adds \ufeff.
 */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');

/** Python's `text.split()`: the fields between whitespace runs, none empty. */
export function pythonSplit(text: string): string[] {
  return text.split(PY_WHITESPACE_RUN).filter((field) => field !== '');
}

/**
 * `text` as one field of predict_system's split(): leading and trailing whitespace dropped, each inner whitespace
 * run replaced by one '_' ("red  apple " -> "red_apple"). '' when `text` is all whitespace.
 */
export function ppshituToken(text: string): string {
  return pythonSplit(text).join('_');
}
