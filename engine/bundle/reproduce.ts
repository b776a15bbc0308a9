// `tscolab reproduce FILE.zip` / %reproduce / reproduce(): re-runs a
// bundled run on the fingerprinted data and compares weights. Data whose
// sha256 differs from the bundle's is refused with the file named. The
// bundled config trains in a fresh Drive folder, extended the way the
// original was (its schedule cycles), on the original's backend when it is
// available; then the final weights are compared bit for bit and the
// per-step weight digests name the first step where they diverged.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { unzipSync, strFromU8 } from "fflate";
import { TscolabError, UsageError } from "../errors";
import { listValidCheckpoints, parseDigests, readCheckpoint, readDigests, WEIGHTS_BIN, type DigestLine } from "../store";
import { makeDirs } from "../store/durable_fs";
import { ensureBackend } from "../backend";
import type { TrainConfigInput } from "../train/config";
import { TRAIN_OPTIONS } from "../train/options";
import { train, type TrainOptions } from "../train/train";
import type { ProgressListener } from "../train/progress";
import { bundleManifest, packageInfo, sha256Hex, type BundleManifest } from "./bundle";
import { builtinSha256, fileFingerprint, type DataFingerprint } from "./fingerprint";

export interface ReproduceOptions {
  bundle: string;
  /** Where to look for the data files (by file name) instead of their recorded paths. */
  dataDir?: string;
  /** Drive root for the reproduction's run; default a fresh temporary folder. */
  drive?: string;
  cwd?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface ReproduceResult {
  status: "identical" | "diverged";
  /** The first recorded step whose weights differ, or null. */
  firstDivergence: { step: number; epoch: number; original: string; reproduced: string } | null;
  /** The last step both runs recorded with equal weights (null when none). */
  lastIdenticalStep: number | null;
  digests: { original: number; reproduced: number; compared: number };
  finalWeights: { identical: boolean; original: string; reproduced: string; step: number };
  runId: string;
  runDir: string;
  drive: string;
  original: { runId: string; step: number; epoch: number };
  data: { role: string; file: string; sha256: string }[];
  notes: string[];
}

type Obj = Record<string, unknown>;

/**
 * The resolved config of run.json as train() input: every setting explicit
 * (profile and preset included, so defaults resolve the same on any
 * machine), without derived facts, the Drive root or unset (null) values.
 */
export function configInput(resolved: Obj): TrainConfigInput {
  const derived = new Set(
    Object.entries(TRAIN_OPTIONS)
      .filter(([, e]) => e.kind === "derived")
      .map(([k]) => k),
  );
  return Object.fromEntries(Object.entries(resolved).filter(([k, v]) => v !== null && k !== "drive" && !derived.has(k))) as TrainConfigInput;
}

/** The original's backend when this machine has it (bit-identity needs the same kernels); otherwise the best here, with a note. */
async function sameBackend(wanted: string | null, notes: string[]): Promise<string | undefined> {
  const current = await ensureBackend();
  if (!wanted || current.name === wanted) return undefined;
  try {
    await ensureBackend({ prefer: wanted });
    return wanted;
  } catch (e) {
    notes.push(`the run trained on ${wanted}, which is not usable here (${(e as Error).message.split(" (fix")[0]}); reproducing on ${current.name}`);
    return undefined;
  }
}

/** The file of a fingerprint: in --data-dir by name, else where it was when the run trained. */
async function locate(f: DataFingerprint, dataDir: string | undefined, cwd: string): Promise<string> {
  const candidates = [dataDir ? path.join(path.resolve(cwd, dataDir), path.basename(f.source)) : null, f.path].filter((p): p is string => !!p);
  const file = candidates.find((p) => fs.existsSync(p));
  if (!file) {
    throw new TscolabError(
      `the bundle's ${f.role} data ${path.basename(f.source)} (sha256 ${f.sha256.slice(0, 12)}…) is not at ${candidates.join(" or ")}`,
      "pass --data-dir with the folder holding the original file",
    );
  }
  const got = await fileFingerprint(file);
  if (got.sha256 !== f.sha256) {
    throw new TscolabError(
      `data file ${file} has sha256 ${got.sha256.slice(0, 12)}… but the bundled run trained on ${f.sha256.slice(0, 12)}… (${f.bytes} bytes; this file has ${got.bytes})`,
      "reproduce with the original data file (--data-dir DIR)",
    );
  }
  return file;
}

export function compareDigests(original: DigestLine[], reproduced: DigestLine[]): { first: ReproduceResult["firstDivergence"]; lastIdentical: number | null; compared: number } {
  const mine = new Map(reproduced.map((d) => [d.step, d]));
  let lastIdentical: number | null = null;
  let compared = 0;
  for (const o of [...original].sort((a, b) => a.step - b.step)) {
    const r = mine.get(o.step);
    if (!r) continue;
    compared++;
    if (r.sha256 !== o.sha256) return { first: { step: o.step, epoch: o.epoch, original: o.sha256, reproduced: r.sha256 }, lastIdentical, compared };
    lastIdentical = o.step;
  }
  return { first: null, lastIdentical, compared };
}

export async function reproduce(options: ReproduceOptions): Promise<ReproduceResult> {
  const cwd = options.cwd ?? process.cwd();
  const file = path.resolve(cwd, options.bundle);
  if (!fs.existsSync(file)) throw new UsageError(`bundle ${file} does not exist`);
  let zip: Record<string, Uint8Array>;
  try {
    zip = unzipSync(new Uint8Array(fs.readFileSync(file)));
  } catch (e) {
    throw new TscolabError(`${file} is not a zip file (${(e as Error).message})`, "pass a bundle written by tscolab bundle");
  }
  const text = (name: string) => {
    const bytes = zip[name];
    if (!bytes) throw new TscolabError(`${file} has no ${name}`, "pass a bundle written by tscolab bundle");
    return strFromU8(bytes);
  };
  const parsed = bundleManifest.safeParse(JSON.parse(text("bundle.json")));
  if (!parsed.success)
    throw new TscolabError(`${file}: bundle.json is not a ${"tscolab-bundle/1"} manifest (${parsed.error.issues[0]?.message})`, "pass a bundle written by tscolab bundle");
  const manifest: BundleManifest = parsed.data;
  if (manifest.modelSource === "notebook variable") {
    throw new TscolabError(
      `run ${manifest.runId} was trained from a notebook variable; its model cannot be rebuilt from the bundle`,
      "reproduce runs whose model is a zoo name or a model file",
    );
  }
  const notes: string[] = [];
  const config = JSON.parse(text("config.json")) as Obj;

  // The data, proven to be the bundle's.
  const data: ReproduceResult["data"] = [];
  const dataConfig = { ...(config.data as Obj) };
  for (const f of manifest.data) {
    if (f.builtin) {
      const got = builtinSha256(f.builtin as "iris" | "mnist", f.limit ?? undefined);
      if (got.sha256 !== f.sha256)
        throw new TscolabError(
          `built-in data ${f.source} has sha256 ${got.sha256.slice(0, 12)}… but the bundled run trained on ${f.sha256.slice(0, 12)}…`,
          "install the package versions of the bundle's package-lock.json",
        );
      data.push({ role: f.role, file: f.source, sha256: got.sha256 });
      continue;
    }
    const located = await locate(f, options.dataDir, cwd);
    dataConfig[f.role] = located;
    data.push({ role: f.role, file: located, sha256: f.sha256 });
  }
  if (!manifest.data.length) notes.push("the bundle has no data fingerprints: the data could not be checked");

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-reproduce-"));
  const drive = options.drive ? path.resolve(cwd, options.drive) : path.join(work, "drive");
  const model = { ...(config.model as Obj) };
  if (manifest.modelFile) {
    const src = zip[`source/${manifest.modelFile}`];
    if (!src) throw new TscolabError(`${file} lacks source/${manifest.modelFile}`, "bundle the run again");
    const dir = path.join(work, "source");
    makeDirs(dir);
    fs.writeFileSync(path.join(dir, manifest.modelFile), src);
    model.file = path.join(dir, manifest.modelFile);
  }
  const pkg = packageInfo();
  if (manifest.packageLock && pkg.lockSha256 !== manifest.packageLock.sha256)
    notes.push(
      `package-lock.json differs from the bundle's (sha256 ${manifest.packageLock.sha256.slice(0, 12)}… there, ${pkg.lockSha256?.slice(0, 12) ?? "none"}… here): library versions may differ`,
    );

  // Train as the original did: to the first cycle's end, then each extension.
  const cycles = manifest.scheduleCycles.length ? manifest.scheduleCycles : [Number(config.epochs)];
  const backend = await sameBackend(manifest.backend, notes);
  const base: TrainOptions = { cwd, drive, signal: options.signal, onProgress: options.onProgress, ...(backend ? { backend } : {}) };
  let result = await train({ ...configInput(config), data: dataConfig as TrainConfigInput["data"], model, epochs: cycles[0] }, base);
  if (manifest.backend && result.backend !== manifest.backend)
    notes.push(`the run trained on ${manifest.backend} and is reproduced on ${result.backend}: kernels differ in their last bits`);
  for (const epochs of cycles.slice(1)) {
    if (result.status !== "completed") break;
    result = await train({ epochs } as TrainConfigInput, { ...base, resume: result.runDir });
  }
  if (result.status !== "completed") notes.push(`the reproduction ended ${result.status}${result.diagnosis ? `: ${result.diagnosis}` : ""}`);

  const { valid } = await listValidCheckpoints(result.runDir);
  const newest = valid[0] ? await readCheckpoint(valid[0].dir) : null;
  const originalWeights = zip[`model/last/${WEIGHTS_BIN}`];
  const reproducedSha = newest ? sha256Hex(newest.files[WEIGHTS_BIN]) : "none";
  const identical =
    !!newest && newest.step === manifest.final.step && reproducedSha === manifest.final.weightsSha256 && sha256Hex(originalWeights) === manifest.final.weightsSha256;
  const original = zip["digests.jsonl"] ? parseDigests(strFromU8(zip["digests.jsonl"])) : [];
  const reproduced = readDigests(result.runDir);
  if (!original.length) notes.push("the bundle holds no weight digests: only the final weights are compared");
  const cmp = compareDigests(original, reproduced);
  let first = cmp.first;
  if (!first && !identical) {
    // Equal at every recorded step, yet the final weights differ: it diverged after the last one.
    first = { step: newest?.step ?? -1, epoch: newest?.epoch ?? -1, original: manifest.final.weightsSha256, reproduced: reproducedSha };
    notes.push(`the weights were equal at every recorded step up to ${cmp.lastIdentical ?? "none"} and differ at the end`);
  }
  return {
    status: identical && !first ? "identical" : "diverged",
    firstDivergence: first,
    lastIdenticalStep: cmp.lastIdentical,
    digests: { original: original.length, reproduced: reproduced.length, compared: cmp.compared },
    finalWeights: { identical, original: manifest.final.weightsSha256, reproduced: reproducedSha, step: manifest.final.step },
    runId: result.runId,
    runDir: result.runDir,
    drive,
    original: { runId: manifest.runId, step: manifest.final.step, epoch: manifest.final.epoch },
    data,
    notes,
  };
}
