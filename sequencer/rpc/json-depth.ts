/**
 * The nesting limit of JSON bodies, checked on the raw text before anything parses or walks it.
 *
 * JSON.parse itself copes with any depth, but almost everything done with the parsed value afterwards
 * recurses (JSON.stringify, canonicalJson, zod, the storage codec): a body of 100,000 nested arrays
 * overflows the stack there. A Veil message nests about a dozen levels deep, so a limit far above that
 * refuses nothing real, and far below what recursion survives.
 */

/** The deepest nesting of arrays and objects a body may have (the top-level value is level 1). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Where `text` opens an array or object deeper than `maxDepth` (its character offset), found in one
 * pass without recursion or allocation; undefined when it does not. The text need not be valid JSON:
 * JSON.parse judges that afterwards, and brackets inside strings do not count.
 */
export function nestingBeyond(text: string, maxDepth: number = MAX_JSON_DEPTH): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return undefined; // an unterminated string: not JSON, and nothing opens after it
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth += 1;
      if (depth > maxDepth) return i;
    } else if ((c === CLOSE_ARRAY || c === CLOSE_OBJECT) && depth > 0) {
      depth -= 1;
    }
  }
  return undefined;
}

/** The offset of the quote that closes the string opened at `open`, or -1; jumps with indexOf, as strings are most of a large body. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    for (let j = at - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
}

/** The reason given for a body that nests too deep (the same words on every endpoint and in the client). */
export function nestingProblem(offset: number, maxDepth: number = MAX_JSON_DEPTH): string {
  return `the JSON nests arrays and objects deeper than ${maxDepth} levels (at character ${offset})`;
}
