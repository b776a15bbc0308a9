// Small text data sets the text tests write: a word-order task (who chased
// whom) whose label a bag of words cannot see, and its bag-of-words table.
import fs from "node:fs";
import path from "node:path";
import { Rng } from "../../engine/util/rng";

export const ANIMALS = ["cat", "dog", "fox", "owl"] as const;
const ADJECTIVES = ["", "big ", "small ", "old ", "young ", "grey "];
const ADVERBS = ["", " quickly", " slowly", " today", " again"];

/** "the big fox chased the owl today" → label "fox": the subject, which only word order tells from the object. */
export function chaseSentences(n: number, seed: number): { text: string; label: string }[] {
  const rng = Rng.create(seed, "chase");
  const pick = <T>(a: readonly T[]) => a[rng.nextInt(a.length)];
  const rows: { text: string; label: string }[] = [];
  for (let i = 0; i < n; i++) {
    const subject = pick(ANIMALS);
    let object = pick(ANIMALS);
    while (object === subject) object = pick(ANIMALS);
    rows.push({ text: `the ${pick(ADJECTIVES)}${subject} chased the ${pick(ADJECTIVES)}${object}${pick(ADVERBS)}`, label: subject });
  }
  return rows;
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function writeTextCsv(file: string, rows: { text: string; label: string }[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, ["text,label", ...rows.map((r) => `${csvCell(r.text)},${csvCell(r.label)}`)].join("\n") + "\n");
  return file;
}

/** The same rows as word counts (one column per word of the training rows): what a bag-of-words model sees. */
export function writeBagOfWordsCsv(file: string, rows: { text: string; label: string }[], vocabulary: string[]): string {
  const header = [...vocabulary.map((w) => `w_${w}`), "label"];
  const lines = rows.map((r) => {
    const words = r.text.split(/\s+/);
    return [...vocabulary.map((w) => String(words.filter((x) => x === w).length)), r.label].join(",");
  });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, [header.join(","), ...lines].join("\n") + "\n");
  return file;
}

export const vocabularyOf = (rows: { text: string }[]): string[] => [...new Set(rows.flatMap((r) => r.text.split(/\s+/)))].sort();
