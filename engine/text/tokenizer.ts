// Tokenizers for text tasks, trained on the training text only and stored as
// one JSON file (tokenizer.json) in the run folder and beside every export,
// so training, evaluation, generation and the exports all cut text the same way.
//
// - char: one token per Unicode code point seen in training (most frequent
//   first when vocabSize caps it); id 0 pads, id 1 stands for a symbol the
//   training text never had. A prompt with such symbols is refused by name.
// - bpe: byte-level byte-pair encoding (GPT-2 style): ids 0-255 are the raw
//   bytes, 256 pads, and every further id is a merge of two earlier ones,
//   learned inside pre-tokenized words. Any text encodes (unknown symbols
//   fall back to their bytes).
import { z } from "zod";
import { TscolabError } from "../errors";
import type { TokenizerType } from "./tokenizer_types";

export const TOKENIZER_FILE = "tokenizer.json";
export { TOKENIZER_TYPES, type TokenizerType } from "./tokenizer_types";

const PAD = "<pad>";
const UNK = "<unk>";
const BYTES = 256;

export const tokenizerJson = z.discriminatedUnion("type", [
  z.object({ format: z.literal("tscolab-tokenizer/1"), type: z.literal("char"), symbols: z.array(z.string()) }),
  z.object({ format: z.literal("tscolab-tokenizer/1"), type: z.literal("bpe"), merges: z.array(z.tuple([z.number().int(), z.number().int()])) }),
]);
export type TokenizerJson = z.infer<typeof tokenizerJson>;

export interface EncodeOptions {
  /** What a symbol the tokenizer has never seen does: become the unknown token (data), or fail (a prompt). */
  unknown?: "map" | "error";
  /** Names the text in an error ("the prompt"). */
  what?: string;
}

export interface Tokenizer {
  readonly type: TokenizerType;
  readonly vocabSize: number;
  /** The id that fills a short text up to the model's length. */
  readonly padId: number;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>): string;
  /** A decoder for tokens that arrive one at a time (a byte-level token may end inside a character). */
  streamDecoder(): (id: number) => string;
  /** The text of one token, for tables and debugging. */
  tokenText(id: number): string;
  toJSON(): TokenizerJson;
}

export interface TokenizerSpec {
  type: TokenizerType;
  vocabSize?: number | null;
}

// ---------------------------------------------------------------- char

class CharTokenizer implements Tokenizer {
  readonly type = "char" as const;
  readonly padId = 0;
  readonly unkId = 1;
  private readonly index = new Map<string, number>();

  constructor(readonly symbols: string[]) {
    symbols.forEach((s, i) => this.index.set(s, i + 2));
  }

  get vocabSize(): number {
    return this.symbols.length + 2;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    const unseen = new Set<string>();
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id === undefined) unseen.add(ch);
      ids.push(id ?? this.unkId);
    }
    if (unseen.size && opts.unknown === "error") {
      const list = [...unseen].map((c) => JSON.stringify(c)).join(", ");
      throw new TscolabError(
        `${opts.what ?? "the text"} has ${unseen.size} symbol${unseen.size === 1 ? "" : "s"} the char tokenizer never saw in training: ${list}`,
        'remove them, or train with "tokenizer": { "type": "bpe" }, which falls back to bytes',
      );
    }
    return ids;
  }

  tokenText(id: number): string {
    if (id === this.padId) return PAD;
    if (id === this.unkId) return UNK;
    return this.symbols[id - 2] ?? UNK;
  }

  decode(ids: ArrayLike<number>): string {
    let out = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === this.padId) continue;
      out += id === this.unkId ? "\uFFFD" : (this.symbols[id - 2] ?? "\uFFFD");
    }
    return out;
  }

  streamDecoder(): (id: number) => string {
    return (id) => this.decode([id]);
  }

  toJSON(): TokenizerJson {
    return { format: "tscolab-tokenizer/1", type: "char", symbols: this.symbols };
  }

  static train(text: string, vocabSize?: number | null): CharTokenizer {
    const counts = new Map<string, number>();
    for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const distinct = counts.size;
    if (distinct === 0) throw new TscolabError("the training text is empty: there is nothing to build a tokenizer from", "give data.train a file with text");
    let symbols = [...counts.keys()];
    if (vocabSize != null) {
      if (vocabSize > distinct + 2)
        throw new TscolabError(
          `tokenizer.vocabSize ${vocabSize} is larger than the char vocabulary the training text has: ${distinct} distinct symbols + 2 (padding, unknown) = ${distinct + 2}`,
          `set tokenizer.vocabSize to at most ${distinct + 2}, or leave it out`,
        );
      if (vocabSize < 3) throw new TscolabError(`tokenizer.vocabSize ${vocabSize} is too small for a char tokenizer`, "use at least 3 (padding, unknown and one symbol)");
      // Keep the most frequent symbols (ties by code point, so the choice is deterministic).
      symbols.sort((a, b) => counts.get(b)! - counts.get(a)! || cmp(a, b));
      symbols = symbols.slice(0, vocabSize - 2);
    }
    return new CharTokenizer(symbols.sort(cmp));
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------- bpe

/** GPT-2's pre-tokenization: words with their leading space, numbers, punctuation runs, whitespace. */
const WORDS = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();
const pairKey = (a: number, b: number) => a * 1_048_576 + b;

class BpeTokenizer implements Tokenizer {
  readonly type = "bpe" as const;
  readonly padId = BYTES;
  /** Merge (a, b) → its rank; the merged id is BYTES + 1 + rank. */
  private readonly ranks = new Map<number, number>();
  /** The bytes each id stands for. */
  private readonly bytesOf: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(readonly merges: [number, number][]) {
    for (let b = 0; b < BYTES; b++) this.bytesOf.push(Uint8Array.of(b));
    this.bytesOf.push(new Uint8Array(0)); // padding
    merges.forEach(([a, b], rank) => {
      this.ranks.set(pairKey(a, b), rank);
      const x = this.bytesOf[a];
      const y = this.bytesOf[b];
      if (!x || !y) throw new TscolabError(`tokenizer.json: merge ${rank} refers to an id that is not defined yet`, "re-train the tokenizer");
      const both = new Uint8Array(x.length + y.length);
      both.set(x);
      both.set(y, x.length);
      this.bytesOf.push(both);
    });
  }

  get vocabSize(): number {
    return BYTES + 1 + this.merges.length;
  }

  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let ids = Array.from(utf8.encode(word));
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i], ids[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = this.merges[bestRank];
      const merged = BYTES + 1 + bestRank;
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(ids[i]);
      }
      ids = next;
    }
    if (this.cache.size < 100_000) this.cache.set(word, ids);
    return ids;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const m of text.matchAll(WORDS)) for (const id of this.encodeWord(m[0])) ids.push(id);
    return ids;
  }

  private bytes(ids: ArrayLike<number>): Uint8Array {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytesOf[ids[i]] ?? new Uint8Array(0);
      parts.push(b);
      n += b.length;
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8").decode(this.bytes(ids));
  }

  streamDecoder(): (id: number) => string {
    const decoder = new TextDecoder("utf-8");
    return (id) => decoder.decode(this.bytesOf[id] ?? new Uint8Array(0), { stream: true });
  }

  tokenText(id: number): string {
    if (id === this.padId) return PAD;
    return new TextDecoder("utf-8").decode(this.bytesOf[id] ?? new Uint8Array(0));
  }

  toJSON(): TokenizerJson {
    return { format: "tscolab-tokenizer/1", type: "bpe", merges: this.merges };
  }

  /**
   * Learns merges until the vocabulary has `vocabSize` ids: each round merges
   * the most frequent adjacent pair (ties: the smallest ids) in every word.
   */
  static train(text: string, vocabSize?: number | null): BpeTokenizer {
    const size = vocabSize ?? 512;
    if (size < BYTES + 1)
      throw new TscolabError(`tokenizer.vocabSize ${size} is too small for byte-level bpe`, `use at least ${BYTES + 1} (256 bytes + padding); 512 to 4096 is usual`);
    const freq = new Map<string, number>();
    for (const m of text.matchAll(WORDS)) freq.set(m[0], (freq.get(m[0]) ?? 0) + 1);
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [w, c] of freq) {
      words.push(Array.from(utf8.encode(w)));
      counts.push(c);
    }
    const merges: [number, number][] = [];
    const wanted = size - BYTES - 1;
    while (merges.length < wanted) {
      const pairs = new Map<number, number>();
      for (let w = 0; w < words.length; w++) {
        const ids = words[w];
        for (let i = 0; i + 1 < ids.length; i++) {
          const k = pairKey(ids[i], ids[i + 1]);
          pairs.set(k, (pairs.get(k) ?? 0) + counts[w]);
        }
      }
      let best = -1;
      let bestCount = 1;
      for (const [k, c] of pairs) if (c > bestCount || (c === bestCount && best >= 0 && k < best)) [best, bestCount] = [k, c];
      if (best < 0) {
        throw new TscolabError(
          `tokenizer.vocabSize ${size} is larger than the training text supports: after ${merges.length} merges no pair of tokens occurs twice (at most ${BYTES + 1 + merges.length} ids)`,
          `set tokenizer.vocabSize to at most ${BYTES + 1 + merges.length}, or train on more text`,
        );
      }
      const a = Math.floor(best / 1_048_576);
      const b = best % 1_048_576;
      const merged = BYTES + 1 + merges.length;
      merges.push([a, b]);
      for (let w = 0; w < words.length; w++) {
        const ids = words[w];
        if (ids.length < 2) continue;
        let changed = false;
        const next: number[] = [];
        for (let i = 0; i < ids.length; i++) {
          if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
            next.push(merged);
            i++;
            changed = true;
          } else next.push(ids[i]);
        }
        if (changed) words[w] = next;
      }
    }
    return new BpeTokenizer(merges);
  }
}

// ---------------------------------------------------------------- public

export function trainTokenizer(text: string, spec: TokenizerSpec): Tokenizer {
  return spec.type === "bpe" ? BpeTokenizer.train(text, spec.vocabSize) : CharTokenizer.train(text, spec.vocabSize);
}

export function tokenizerFromJson(value: unknown, where = TOKENIZER_FILE): Tokenizer {
  const parsed = tokenizerJson.safeParse(value);
  if (!parsed.success)
    throw new TscolabError(`${where} is not a tscolab tokenizer: ${parsed.error.issues[0]?.message}`, "re-train the run, or point at the run folder it came from");
  return parsed.data.type === "bpe" ? new BpeTokenizer(parsed.data.merges) : new CharTokenizer(parsed.data.symbols);
}
