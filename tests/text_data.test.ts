// Text data and tokenizers: char and byte-level bpe round trips, the errors a
// user can fix (one line each), windows and the unigram baseline.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TscolabError } from "../engine/errors";
import { unigramPerplexity, windows } from "../engine/text/dataset";
import { tokenizerFromJson, trainTokenizer } from "../engine/text/tokenizer";
import { train } from "../engine/train/train";

const corpus = fs.readFileSync(path.join(__dirname, "..", "data", "text", "genesis.txt"), "utf8");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-text-"));

/** The one line a user sees: TscolabError's message, no stack. */
async function errorOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, "expected an error").toBeInstanceOf(TscolabError);
  const message = (e as Error).message;
  expect(message.split("\n")).toHaveLength(1);
  return message;
}

describe("tokenizers", () => {
  it("char: every training symbol, padding and unknown; a round trip through tokenizer.json", () => {
    const tok = trainTokenizer(corpus, { type: "char" });
    expect(tok.vocabSize).toBe(new Set(corpus).size + 2);
    const again = tokenizerFromJson(JSON.parse(JSON.stringify(tok.toJSON())));
    const sample = corpus.slice(1000, 3000);
    expect(again.encode(sample)).toEqual(tok.encode(sample));
    expect(again.decode(again.encode(sample))).toBe(sample);
    // A capped vocabulary keeps the most frequent symbols; the rest become the unknown token.
    const small = trainTokenizer(corpus, { type: "char", vocabSize: 12 });
    expect(small.vocabSize).toBe(12);
    expect(small.encode("e")[0]).toBeGreaterThan(1);
    expect(small.encode("Z")[0]).toBe(1);
  });

  it("bpe: byte-level merges, exact round trips, and bytes for symbols it never saw", () => {
    const tok = trainTokenizer(corpus.slice(0, 60_000), { type: "bpe", vocabSize: 400 });
    expect(tok.vocabSize).toBe(400);
    const sample = corpus.slice(70_000, 72_000);
    const ids = tok.encode(sample);
    expect(ids.length).toBeLessThan(sample.length * 0.6); // merges compress English
    expect(tok.decode(ids)).toBe(sample);
    const unseen = "Ωmega ☃ naïve — 東京";
    expect(tok.decode(tok.encode(unseen, { unknown: "error", what: "the prompt" }))).toBe(unseen);
    const again = tokenizerFromJson(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(again.encode(sample)).toEqual(ids);
    // Streaming decode joins the bytes of a character split over tokens.
    const stream = again.streamDecoder();
    expect(again.encode(unseen).map(stream).join("")).toBe(unseen);
  });

  it("bad vocabularies and prompts are one clear line", () => {
    expect(() => trainTokenizer("abcabc", { type: "char", vocabSize: 50 })).toThrow(
      /vocabSize 50 is larger than the char vocabulary the training text has: 3 distinct symbols \+ 2/,
    );
    expect(() => trainTokenizer("ab ab ab", { type: "bpe", vocabSize: 300 })).toThrow(/vocabSize 300 is larger than the training text supports: after \d+ merges/);
    expect(() => trainTokenizer(corpus, { type: "bpe", vocabSize: 100 })).toThrow(/too small for byte-level bpe/);
    const tok = trainTokenizer("hello world", { type: "char" });
    expect(() => tok.encode("hello ☃ world!", { unknown: "error", what: "the prompt" })).toThrow(/the prompt has 2 symbols the char tokenizer never saw in training: "☃", "!"/);
  });
});

describe("windows and the unigram baseline", () => {
  it("cuts seqLen-token windows whose targets are the next tokens", () => {
    const w = windows([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3);
    expect(w.n).toBe(3);
    expect(Array.from(w.x)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(w.y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(windows([1, 2, 3], 3).n).toBe(0);
  });

  it("the unigram perplexity of a uniform text is its vocabulary", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => i % 4);
    expect(unigramPerplexity(ids, ids, 4)).toBeCloseTo(4, 2);
  });
});

describe("bad text input through train()", () => {
  const base = { epochs: 1, tier: "3" as const, batchSize: 8, model: { zoo: "transformer" as const, layers: 1, heads: 1, dModel: 8, seqLen: 8 } };

  it("a text column with an empty row names the file and line", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "t.csv"), 'text,label\n"a fine text",a\n"",b\n"another",a\n');
    const msg = await errorOf(train({ ...base, data: { train: "t.csv", text: "text" } }, { cwd: dir, drive: path.join(dir, "drive") }));
    expect(msg).toMatch(/malformed row at .*t\.csv:3: text column "text" is empty/);
  });

  it("a seqLen larger than the corpus", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "tiny.txt"), "In the beginning.\n".repeat(3));
    const msg = await errorOf(
      train({ ...base, model: { ...base.model, seqLen: 64 }, data: { train: "tiny.txt", validationSplit: 0 } }, { cwd: dir, drive: path.join(dir, "drive") }),
    );
    expect(msg).toMatch(/model\.seqLen 64 is larger than the training text: tiny\.txt has 54 tokens, and one window needs seqLen \+ 1 = 65/);
  });

  it("a tokenizer vocabulary larger than the distinct symbols", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "abc.txt"), "abcabcabc ".repeat(50));
    const msg = await errorOf(train({ ...base, tokenizer: { type: "char", vocabSize: 40 }, data: { train: "abc.txt" } }, { cwd: dir, drive: path.join(dir, "drive") }));
    expect(msg).toMatch(/tokenizer\.vocabSize 40 is larger than the char vocabulary the training text has: 4 distinct symbols/);
  });

  it("a JSONL text column without labels is a corpus for language modeling", async () => {
    const dir = tmp();
    const lines = corpus
      .split("\n")
      .filter((l) => l.trim())
      .slice(0, 60);
    fs.writeFileSync(path.join(dir, "verses.jsonl"), lines.map((l, i) => JSON.stringify({ id: i, verse: l })).join("\n") + "\n");
    const r = await train({ ...base, data: { train: "verses.jsonl", text: "verse" } }, { cwd: dir, drive: path.join(dir, "drive") });
    expect(r.status).toBe("completed");
    expect(r.dataset.task).toBe("language-modeling");
    expect(r.dataset.features).toEqual(["verse"]);
    expect(Object.keys(r.metrics).sort()).toEqual(["val_loss", "val_perplexity", "val_token_accuracy"]);
  });

  it("a table with a text column trains as text without naming it", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "t.csv"), "text,label\n" + Array.from({ length: 40 }, (_, i) => `word${i % 3} and more words,${i % 2 ? "odd" : "even"}`).join("\n") + "\n");
    const r = await train({ ...base, data: { train: "t.csv" } }, { cwd: dir, drive: path.join(dir, "drive") });
    expect(r.dataset.task).toBe("text-classification");
    expect(r.config.model.zoo).toBe("transformer");
    expect(r.dataset.labels).toEqual(["even", "odd"]);
    expect(fs.existsSync(path.join(r.runDir, "tokenizer.json"))).toBe(true);
  });
});
