// `tscolab bundle RUN --out FILE.zip` / %bundle / bundleRun(): everything
// needed to re-run a run and check the result, in one zip:
//   bundle.json        format, run id, data fingerprints (sha256), the
//                      package-lock.json hash, the final step and weights hash
//   config.json        the resolved config; run.json, environment.json
//   metrics.jsonl, digests.jsonl (weights hash per step), profile.json
//   plots/history.svg  (and any plots/ the run folder holds)
//   model/last/        the final weights (model.json + weights.bin); model/best/
//   source/FILE        the model file, for a run built from one
// `tscolab reproduce` (./reproduce.ts) reads it back.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { strToU8, zipSync } from "fflate";
import { z } from "zod";
import { TscolabError, UsageError } from "../errors";
import { runPlotFiles } from "../export/bundle";
import { BEST_DIR, DIGESTS_FILE, listValidCheckpoints, MANIFEST_NAME, METRICS_FILE, MODEL_JSON, openRun, PROFILE_JSON, readCheckpoint, readMetrics, WEIGHTS_BIN } from "../store";
import { resolveDriveRoot } from "../store/drive_root";
import { makeDirs } from "../store/durable_fs";
import { historySvg } from "../train/plot";
import type { EpochRow } from "../train/progress";
import { dataFingerprint, fingerprintData, type DataFingerprint } from "./fingerprint";

export const BUNDLE_FORMAT = "tscolab-bundle/1";

export const bundleManifest = z.object({
  format: z.literal(BUNDLE_FORMAT),
  createdAt: z.string(),
  runId: z.string(),
  runName: z.string(),
  /** What the run trained on; a reproduction refuses data whose sha256 differs. */
  data: z.array(dataFingerprint),
  /** When the fingerprints were taken: at training (run.json) or only when bundling (an older run). */
  fingerprintedAt: z.enum(["training", "bundling"]),
  packageLock: z.object({ sha256: z.string() }).nullable(),
  tscolab: z.string().nullable(),
  final: z.object({ step: z.number().int(), epoch: z.number().int(), weightsSha256: z.string() }),
  /** The schedule's cycles (an extended run has several): a reproduction trains and extends the same way. */
  scheduleCycles: z.array(z.number().int().positive()),
  /** The model file a run was built from, stored under source/ (null for zoo models). */
  modelFile: z.string().nullable(),
  /** How the model was made: zoo, file, git, or a notebook variable (which cannot be rebuilt). */
  modelSource: z.string().nullable(),
  backend: z.string().nullable(),
});
export type BundleManifest = z.infer<typeof bundleManifest>;

export interface BundleOptions {
  run: string;
  out: string;
  drive?: string;
  cwd?: string;
}

export interface BundleResult {
  path: string;
  bytes: number;
  runId: string;
  files: string[];
  data: DataFingerprint[];
  final: BundleManifest["final"];
  notes: string[];
}

const json = (v: unknown) => strToU8(JSON.stringify(v, null, 2) + "\n");
export const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** tscolab's own package folder (package.json named tscolab), walking up from this file. */
export function packageRoot(): string | null {
  for (let dir = __dirname, i = 0; i < 8; i++, dir = path.dirname(dir)) {
    const pj = path.join(dir, "package.json");
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, "utf8")).name === "tscolab") return dir;
      } catch {
        // not ours
      }
    }
  }
  return null;
}

export function packageInfo(): { lockSha256: string | null; version: string | null } {
  const root = packageRoot();
  if (!root) return { lockSha256: null, version: null };
  const lock = path.join(root, "package-lock.json");
  const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version ?? null;
  return { lockSha256: fs.existsSync(lock) ? sha256Hex(fs.readFileSync(lock)) : null, version };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

export async function bundleRun(options: BundleOptions): Promise<BundleResult> {
  if (!options.out || !/\.zip$/i.test(options.out)) throw new UsageError(`--out: give the bundle's file name ending in .zip${options.out ? ` (got ${options.out})` : ""}`);
  const cwd = options.cwd ?? process.cwd();
  const run = await openRun(resolveDriveRoot(options.drive, cwd), options.run, { cwd });
  const runJson = run.runJson as Obj;
  const config = obj(runJson.config);
  if (!runJson.config) throw new TscolabError(`run ${run.runId} has no config in run.json`, "bundle a run trained by tscolab train");
  const notes: string[] = [];
  const provenance = obj(runJson.provenance);
  const trainedIn = typeof provenance.cwd === "string" ? provenance.cwd : cwd;

  const { valid } = await listValidCheckpoints(run.runDir);
  if (!valid.length) throw new TscolabError(`run ${run.runId} has no valid checkpoint to bundle`, "train (or resume) the run until it commits one");
  const last = await readCheckpoint(valid[0].dir);
  const files: Record<string, Uint8Array> = {};
  files[`model/last/${MODEL_JSON}`] = last.files[MODEL_JSON];
  files[`model/last/${WEIGHTS_BIN}`] = last.files[WEIGHTS_BIN];
  const bestDir = path.join(run.runDir, BEST_DIR);
  if (fs.existsSync(path.join(bestDir, MANIFEST_NAME))) {
    const best = await readCheckpoint(bestDir);
    files[`model/best/${MODEL_JSON}`] = best.files[MODEL_JSON];
    files[`model/best/${WEIGHTS_BIN}`] = best.files[WEIGHTS_BIN];
  }

  const recorded = z.array(dataFingerprint).safeParse(runJson.dataFingerprints);
  let data: DataFingerprint[];
  if (recorded.success) data = recorded.data;
  else {
    data = await fingerprintData(config.data as never, trainedIn);
    notes.push("run.json has no data fingerprints (an older run): the data was fingerprinted now, not when the run trained");
  }

  let modelFile: string | null = null;
  const modelConfig = obj(config.model);
  if (typeof modelConfig.file === "string") {
    const file = path.resolve(trainedIn, modelConfig.file);
    if (!fs.existsSync(file)) throw new TscolabError(`the run's model file ${file} is gone`, "restore it, then bundle again");
    modelFile = path.basename(file);
    files[`source/${modelFile}`] = fs.readFileSync(file);
  }
  const modelSource = typeof provenance.modelSource === "string" ? provenance.modelSource : null;
  if (modelSource === "notebook variable") notes.push("the model came from a notebook variable: reproduce cannot rebuild it (the bundle still holds its weights)");

  for (const [name, file] of [
    ["metrics.jsonl", METRICS_FILE],
    ["digests.jsonl", DIGESTS_FILE],
    ["profile.json", PROFILE_JSON],
  ]) {
    const p = path.join(run.runDir, file);
    if (fs.existsSync(p)) files[name] = fs.readFileSync(p);
  }
  const { rows } = await readMetrics(run.runDir);
  const task = obj(runJson.dataset).task === "regression" ? "regression" : "classification";
  const svg = historySvg(rows as unknown as EpochRow[], task);
  if (svg) files["plots/history.svg"] = strToU8(svg + "\n");
  Object.assign(files, runPlotFiles(run.runDir));
  files["config.json"] = json(config);
  files["run.json"] = json(runJson);
  files["environment.json"] = json({ train: runJson.environment ?? null, provenance });

  const pkg = packageInfo();
  const cycles = z.array(z.number().int().positive()).safeParse(runJson.scheduleCycles);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    createdAt: new Date().toISOString(),
    runId: run.runId,
    runName: String(runJson.runName ?? run.runId),
    data,
    fingerprintedAt: recorded.success ? "training" : "bundling",
    packageLock: pkg.lockSha256 ? { sha256: pkg.lockSha256 } : null,
    tscolab: pkg.version,
    final: { step: last.step, epoch: last.epoch, weightsSha256: sha256Hex(last.files[WEIGHTS_BIN]) },
    scheduleCycles: cycles.success ? cycles.data : [Number(config.epochs)],
    modelFile,
    modelSource,
    backend: typeof obj(runJson.environment).backend === "string" ? (obj(runJson.environment).backend as string) : null,
  };
  files["bundle.json"] = json(manifest);

  const zip = zipSync(files, { level: 6 });
  const out = path.resolve(cwd, options.out);
  makeDirs(path.dirname(out));
  await fs.promises.writeFile(out, zip);
  return { path: out, bytes: zip.byteLength, runId: run.runId, files: Object.keys(files).sort(), data, final: manifest.final, notes };
}
