// Fingerprints of a run's data (sha256 of each file's bytes, or of a
// built-in table's values), recorded in run.json when training starts so a
// bundle can later prove a reproduction trains on the very same data.
import { readCorpus, TEXT_BUILTINS } from "../text/corpus";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { builtinTable } from "../data/builtin";
import type { DataConfig } from "../data/schema";

export const dataFingerprint = z.object({
  role: z.enum(["train", "valid"]),
  /** As the config wrote it: a path, or builtin:NAME. */
  source: z.string(),
  /** The file it resolved to when training started. */
  path: z.string().nullable(),
  builtin: z.string().nullable(),
  limit: z.number().int().nullable(),
  sha256: z.string(),
  bytes: z.number().int(),
});
export type DataFingerprint = z.infer<typeof dataFingerprint>;

async function fileSha256(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** A built-in table's values (features and labels): what the package ships, independent of its file layout. */
export function builtinSha256(name: "iris" | "mnist", limit?: number): { sha256: string; bytes: number } {
  const t = builtinTable(name, limit);
  const hash = createHash("sha256");
  hash.update(new Uint8Array(t.x.buffer, t.x.byteOffset, t.x.byteLength));
  hash.update(JSON.stringify(t.labels));
  return { sha256: hash.digest("hex"), bytes: t.x.byteLength };
}

export async function fingerprintSource(role: "train" | "valid", source: DataConfig["train"], cwd: string): Promise<DataFingerprint> {
  if (typeof source !== "string" && source.builtin in TEXT_BUILTINS) {
    // A built-in text corpus: the bytes of its text are what training read.
    const text = Buffer.from(readCorpus(source, cwd), "utf8");
    const sha256 = createHash("sha256").update(text).digest("hex");
    return { role, source: `builtin:${source.builtin}`, path: null, builtin: source.builtin, limit: source.limit ?? null, sha256, bytes: text.byteLength };
  }
  if (typeof source !== "string") {
    const { sha256, bytes } = builtinSha256(source.builtin as "iris" | "mnist", source.limit);
    return { role, source: `builtin:${source.builtin}`, path: null, builtin: source.builtin, limit: source.limit ?? null, sha256, bytes };
  }
  const file = path.resolve(cwd, source);
  const { sha256, bytes } = await fileSha256(file);
  return { role, source, path: file, builtin: null, limit: null, sha256, bytes };
}

/** Fingerprints of the training (and validation) data of a data config; a file that cannot be read is left to the data loader's own error. */
export async function fingerprintData(data: DataConfig, cwd: string): Promise<DataFingerprint[]> {
  const out: DataFingerprint[] = [];
  for (const [role, source] of [["train", data.train] as const, ["valid", data.valid] as const]) {
    if (source === undefined) continue;
    try {
      out.push(await fingerprintSource(role, source, cwd));
    } catch {
      // loadDataset reports a missing or unreadable file with the fix
    }
  }
  return out;
}

export async function fileFingerprint(file: string): Promise<{ sha256: string; bytes: number }> {
  return fileSha256(file);
}
