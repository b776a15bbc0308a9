// Shell-style word splitting for magic lines (what IPython does with shlex).
//
// Hand-written on purpose: shell-quote, the usual library, treats `#` inside a
// word as a comment (it cuts `git+URL#REV:FILE` in half) and turns `>`/`|`
// into operator objects. Magic lines need only words and quotes:
//   - whitespace separates words;
//   - '...' is literal;
//   - "..." allows \" and \\ escapes;
//   - a backslash outside quotes escapes the next character.
// A word written with quotes is a literal: as a positional it never stands
// for a notebook variable (`%train "m5"` is the text m5, `%train m5` the variable).
import { UsageError } from "./types";

export function splitWords(line: string): string[] {
  return splitLine(line).words;
}

/** The words, and the indices of those written (in part) with quotes. */
export function splitLine(line: string): { words: string[]; quoted: Set<number> } {
  const words: string[] = [];
  const quoted = new Set<number>();
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
      quoted.add(words.length);
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote} quote in magic arguments; close it or escape it with \\`);
  if (inWord) words.push(word);
  return { words, quoted };
}
