// compareRuns(): the config keys that differ between runs, their final and
// best metrics side by side with deltas against the first run, and their
// learning curves (metrics.jsonl) overlaid in one SVG.
import fs from "node:fs";
import path from "node:path";
import { resolveDriveRoot, runsDir } from "../store/drive_root";
import { openRun, listRunIds, readMetrics } from "../store";
import { TscolabError, UsageError } from "../errors";
import { higherIsBetter } from "../train/metrics";
import { flatten, isPlainObject, sameJson } from "./dotted";
import { curvesSvg } from "./curves_svg";

export interface CompareOptions {
  drive?: string;
  cwd?: string;
  /** Also write the learning-curve SVG here. */
  out?: string;
}

export interface ComparedRun {
  runId: string;
  runName: string;
  runDir: string;
  status: string;
  epochs: number;
  sweepId: string | null;
  sweepParams: Record<string, unknown> | null;
}

export interface CompareResult {
  runs: ComparedRun[];
  /** The run deltas are taken against (the first one given). */
  baseline: string;
  /** Config key → run id → value, for the keys whose values differ (runName and drive left out). */
  configDiff: Record<string, Record<string, unknown>>;
  /** Final metric values: name → run id → value (null when the run has none). */
  metrics: Record<string, Record<string, number | null>>;
  /** Best value over the epochs (lowest loss, highest accuracy) and its epoch: name → run id → { value, epoch }. */
  best: Record<string, Record<string, { value: number; epoch: number } | null>>;
  /** Final value minus the baseline's: name → run id → delta. */
  deltas: Record<string, Record<string, number | null>>;
  /** Per metric, the run with the best final value. */
  winner: Record<string, string | null>;
  /** Where the SVG was written (--out), else null. */
  out: string | null;
  /** The learning curves (not in the JSON: write it with --out). */
  readonly svg?: string;
}

/** Settings that label or place a run rather than shape it. */
const NOT_SETTINGS = new Set(["runName", "drive"]);
/** metrics.jsonl columns that are bookkeeping, not metrics. */
const NOT_METRICS = new Set(["epoch", "step", "samplesPerSec", "wallMs", "lr"]);

export const lowerIsBetter = (metric: string) => !higherIsBetter(metric);

/** Losses first (training, then validation), then the other metrics. */
const metricRank = (m: string) => (m === "loss" ? 0 : m === "val_loss" ? 1 : 2);

/** A run id, a run folder, `last`, or a part of one run id that no other id shares. */
async function resolveRun(driveRoot: string, ref: string, cwd: string) {
  try {
    return await openRun(driveRoot, ref, { cwd });
  } catch (e) {
    if (!(e instanceof TscolabError) || ref === "last" || /[\\/]/.test(ref)) throw e;
    const hits = (await listRunIds(driveRoot)).filter((id) => id.includes(ref));
    if (hits.length === 1) return openRun(driveRoot, hits[0]!, { cwd });
    if (hits.length > 1)
      throw new UsageError(
        `run ${JSON.stringify(ref)} is ambiguous under ${runsDir(driveRoot)}: ${hits.slice(0, 5).join(", ")}${hits.length > 5 ? ", ..." : ""}; give more of the run id`,
      );
    throw e;
  }
}

export async function compareRuns(refs: string[], opts: CompareOptions = {}): Promise<CompareResult> {
  const cwd = opts.cwd ?? process.cwd();
  if (refs.length < 2) throw new UsageError(`compare needs at least two runs, got ${refs.length}; pass run ids (tscolab runs lists them), run folders or last`);
  if (opts.out !== undefined && !/\.svg$/i.test(opts.out)) throw new UsageError(`--out ${JSON.stringify(opts.out)}: expected a file name ending in .svg`);
  const driveRoot = resolveDriveRoot(opts.drive, cwd);
  const handles = [];
  for (const ref of refs) handles.push(await resolveRun(driveRoot, ref, cwd));
  const seen = new Set<string>();
  for (const h of handles) {
    if (seen.has(h.runDir)) throw new UsageError(`run ${h.runId} is given twice; compare different runs`);
    seen.add(h.runDir);
  }
  const ids = handles.map((h) => h.runId);
  const histories = await Promise.all(handles.map(async (h) => (await readMetrics(h.runDir)).rows as Record<string, unknown>[]));

  const runs: ComparedRun[] = handles.map((h, i) => {
    const j = h.runJson as Record<string, unknown>;
    return {
      runId: h.runId,
      runName: h.runJson.runName,
      runDir: h.runDir,
      status: h.runJson.status,
      epochs: typeof j.epochsCompleted === "number" ? j.epochsCompleted : ((histories[i]!.at(-1)?.epoch as number | undefined) ?? 0),
      sweepId: typeof j.sweepId === "string" ? j.sweepId : null,
      sweepParams: isPlainObject(j.sweepParams) ? j.sweepParams : null,
    };
  });

  const flat = handles.map((h) => flatten((h.runJson as Record<string, unknown>).config ?? {}));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => !NOT_SETTINGS.has(k.split(".")[0]!)).sort();
  const configDiff: CompareResult["configDiff"] = {};
  for (const k of keys) {
    if (flat.every((f) => sameJson(f[k], flat[0]![k]))) continue;
    configDiff[k] = Object.fromEntries(ids.map((id, i) => [id, flat[i]![k] ?? null]));
  }

  // Final values: run.json's validation metrics, and the last epoch's training loss.
  const finals = handles.map((h, i) => {
    const m: Record<string, number> = {};
    const stored = (h.runJson as Record<string, unknown>).metrics;
    const last = histories[i]!.at(-1);
    if (last && typeof last.loss === "number") m.loss = last.loss;
    for (const [k, v] of Object.entries(last ?? {})) if (!NOT_METRICS.has(k) && typeof v === "number") m[k] = v;
    if (isPlainObject(stored)) for (const [k, v] of Object.entries(stored)) if (typeof v === "number") m[k] = v;
    return m;
  });
  const names = [...new Set([...finals.flatMap((f) => Object.keys(f)), ...histories.flatMap((rows) => rows.flatMap((r) => Object.keys(r)))])]
    .filter((k) => !NOT_METRICS.has(k) && (finals.some((f) => k in f) || histories.some((rows) => rows.some((r) => typeof r[k] === "number"))))
    .sort((a, b) => metricRank(a) - metricRank(b) || a.localeCompare(b));

  const metrics: CompareResult["metrics"] = {};
  const best: CompareResult["best"] = {};
  const deltas: CompareResult["deltas"] = {};
  const winner: CompareResult["winner"] = {};
  for (const name of names) {
    const lower = lowerIsBetter(name);
    metrics[name] = Object.fromEntries(ids.map((id, i) => [id, finals[i]![name] ?? null]));
    best[name] = Object.fromEntries(
      ids.map((id, i) => {
        let b: { value: number; epoch: number } | null = null;
        for (const r of histories[i]!) {
          const v = r[name];
          if (typeof v !== "number" || !Number.isFinite(v)) continue;
          if (!b || (lower ? v < b.value : v > b.value)) b = { value: v, epoch: r.epoch as number };
        }
        return [id, b];
      }),
    );
    const base = metrics[name]![ids[0]!];
    deltas[name] = Object.fromEntries(ids.map((id) => [id, base === null || metrics[name]![id] === null ? null : metrics[name]![id]! - base]));
    let w: string | null = null;
    for (const id of ids) {
      const v = metrics[name]![id];
      if (v === null || !Number.isFinite(v)) continue;
      if (w === null || (lower ? v < metrics[name]![w]! : v > metrics[name]![w]!)) w = id;
    }
    winner[name] = w;
  }

  const labels = runs.map((r) =>
    r.sweepParams
      ? `${r.runId.replace(/^\d{8}-\d{6}-/, "")} ${Object.entries(r.sweepParams)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(" ")}`
      : r.runId,
  );
  const svg = curvesSvg(
    histories.map((rows, i) => ({ label: labels[i]!, rows })),
    names,
  );
  let out: string | null = null;
  if (opts.out) {
    out = path.resolve(cwd, opts.out);
    try {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(
        out,
        svg ||
          `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40"><text x="10" y="24" font-family="sans-serif" font-size="12">no metrics.jsonl rows to plot</text></svg>`,
      );
    } catch (e) {
      throw new TscolabError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, "pass --out a path in a folder you can write to");
    }
  }
  const result: CompareResult = { runs, baseline: ids[0]!, configDiff, metrics, best, deltas, winner, out };
  return Object.defineProperty(result, "svg", { value: svg, enumerable: false });
}
