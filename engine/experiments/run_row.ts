// One run as a row of the runs table: what `%runs`, `tscolab runs --json` and
// listRuns() show, read from the run folder's run.json (the record; the index
// only caches these rows).
import path from "node:path";
import { isPlainObject } from "./dotted";

export interface RunRow {
  runId: string;
  runName: string | null;
  /** run.json's status ("running", "completed", "stopped", "failed", ...) or "unreadable". */
  status: string;
  /** Why the folder is unreadable (status "unreadable"), or the run's own diagnosis. */
  reason: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  /** Wall time from creation to run.json's last update, in seconds. */
  durationS: number | null;
  task: string | null;
  /** The config's model section (`{ "zoo": "mlp", "hidden": [16] }`); `{ "source": "notebook variable" }` for a notebook model. */
  model: Record<string, unknown> | null;
  sweepId: string | null;
  sweepParams: Record<string, unknown> | null;
  /** Final validation metrics. */
  metrics: Record<string, number>;
  best: { metric: string; value: number; epoch: number; step: number } | null;
  /** Status of each tier: `{ "1": "passed", "2": "passed", "3": "failed" }`. */
  tiers: Record<string, string> | null;
  epochs: number | null;
  backend: string | null;
  config: Record<string, unknown> | null;
  runDir: string;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null => (isPlainObject(v) ? v : null);

/** `20261130-134257-...` → `2026-11-30T13:42:57.000Z`: the creation time a run id carries, for rows without run.json. */
export function timeFromRunId(runId: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(runId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : null;
}

export function unreadableRow(runsDir: string, runId: string, reason: string): RunRow {
  return {
    runId,
    runName: null,
    status: "unreadable",
    reason,
    createdAt: timeFromRunId(runId),
    updatedAt: null,
    durationS: null,
    task: null,
    model: null,
    sweepId: null,
    sweepParams: null,
    metrics: {},
    best: null,
    tiers: null,
    epochs: null,
    backend: null,
    config: null,
    runDir: path.join(runsDir, runId),
  };
}

/** The row of a run whose run.json text is `text`; an unreadable row when it is not a run.json. */
export function rowFromRunJson(runsDir: string, runId: string, text: string): RunRow {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return unreadableRow(runsDir, runId, `run.json is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) return unreadableRow(runsDir, runId, "run.json does not hold a JSON object");
  if (typeof json.status !== "string") return unreadableRow(runsDir, runId, 'run.json has no "status"');
  const config = obj(json.config);
  const dataset = obj(json.dataset);
  const provenance = obj(json.provenance);
  const createdAt = str(json.createdAt);
  const updatedAt = str(json.updatedAt);
  const span = createdAt && updatedAt ? (Date.parse(updatedAt) - Date.parse(createdAt)) / 1000 : NaN;
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj(json.metrics) ?? {})) if (num(v) !== null) metrics[k] = v as number;
  const tiersIn = obj(json.tiers);
  const tiers = tiersIn ? Object.fromEntries(Object.entries(tiersIn).map(([k, t]) => [k, str(obj(t)?.status) ?? "?"])) : null;
  const best = obj(json.best);
  const sourceIsVariable = provenance?.modelSource === "notebook variable";
  return {
    runId,
    runName: str(json.runName),
    status: json.status,
    // A resumed run that completed may still carry the diagnosis of its interruption.
    reason: json.status === "completed" ? null : (str(json.diagnosis) ?? str(json.error)),
    createdAt,
    updatedAt,
    durationS: Number.isFinite(span) ? Math.round(span * 10) / 10 : null,
    task: str(dataset?.task) ?? str(config?.task),
    model: sourceIsVariable ? { source: "notebook variable" } : obj(config?.model),
    sweepId: str(json.sweepId),
    sweepParams: obj(json.sweepParams),
    metrics,
    best: best && typeof best.metric === "string" && num(best.value) !== null ? (best as RunRow["best"]) : null,
    tiers,
    epochs: num(json.epochsCompleted),
    backend: str(obj(json.environment)?.backend),
    config,
    runDir: path.join(runsDir, runId),
  };
}

/** `mlp [64,32] dropout 0.1`: a model section in a few words. */
export function modelText(model: Record<string, unknown> | null): string {
  if (!model) return "-";
  if (model.source) return String(model.source);
  const head = model.zoo ? String(model.zoo) : model.file ? `file ${path.basename(String(model.file))}` : model.git ? "git" : "mlp";
  const rest = Object.entries(model)
    .filter(([k]) => !["zoo", "file", "git", "trust"].includes(k))
    .map(([k, v]) => (k === "hidden" || k === "filters" ? JSON.stringify(v) : `${k} ${JSON.stringify(v)}`));
  return [head, ...rest].join(" ");
}
