// %worker's result: what the worker did with each job it took, once it stops.
import { escapeHtml } from "../../engine/util/html";
import type { MimeBundle } from "../types";
import type { WorkerJobRecord, WorkerResult } from "../../engine/experiments/queue/worker";
import { htmlTable, textTable, type Cell, type Column } from "../runs/table";

/** The last thing that happened to each job (a job put back for later and taken again counts once). */
function lastOutcomes(jobs: WorkerJobRecord[]): WorkerJobRecord[] {
  const byJob = new Map<string, WorkerJobRecord>();
  for (const j of jobs) {
    byJob.delete(j.jobId);
    byJob.set(j.jobId, j);
  }
  return [...byJob.values()];
}

export function workerBundle(r: WorkerResult): MimeBundle {
  const head = `worker ${r.worker} stopped: ${r.completed} trial(s) completed, ${r.failed} failed, ${r.gaveBack} given back (queue ${r.queue}, Drive ${r.drive})`;
  const columns: Column[] = [{ label: "sweep" }, { label: "trial" }, { label: "outcome" }, { label: "run" }, { label: "reason" }];
  const cells = lastOutcomes(r.jobs).map((j): Cell[] => [{ text: j.sweepId }, { text: j.trial }, { text: j.outcome }, { text: j.runId ?? "-" }, { text: j.reason ?? "" }]);
  return {
    "text/plain": cells.length ? `${head}\n${textTable(columns, cells)}` : head,
    "text/html": `<div><b>${escapeHtml(head)}</b></div>${cells.length ? htmlTable(columns, cells, { sortable: false }) : ""}`,
  };
}
