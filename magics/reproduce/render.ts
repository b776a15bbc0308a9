// A reproduction's verdict for people: identical, or where it diverged.
import { escapeHtml } from "../../engine/util/html";
import type { ReproduceResult } from "../../engine/bundle/reproduce";
import type { MimeBundle } from "../types";

export function reproduceText(r: ReproduceResult): string {
  const verdict =
    r.status === "identical"
      ? `identical: final weights of step ${r.finalWeights.step} equal bit for bit (sha256 ${r.finalWeights.reproduced.slice(0, 16)}…), ${r.digests.compared} recorded steps equal`
      : `diverged at step ${r.firstDivergence?.step} (epoch ${r.firstDivergence?.epoch})${r.lastIdenticalStep !== null ? `; identical through step ${r.lastIdenticalStep}` : ""}`;
  return [
    `Reproduction of run ${r.original.runId} → ${r.runId}`,
    verdict,
    ...r.data.map((d) => `data ${d.role}: ${d.file} (sha256 ${d.sha256.slice(0, 12)}… matches)`),
    ...r.notes.map((n) => `note: ${n}`),
    `run folder: ${r.runDir}`,
  ].join("\n");
}

export function reproduceBundle(r: ReproduceResult, asJson: boolean): MimeBundle {
  if (asJson) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  const [head, verdict, ...rest] = reproduceText(r).split("\n");
  const color = r.status === "identical" ? "#1a7f37" : "#cf222e";
  const html = `<div><b>${escapeHtml(head)}</b><div style="color:${color};font-weight:600">${escapeHtml(verdict)}</div>${rest.map((l) => `<div style="font-size:smaller">${escapeHtml(l)}</div>`).join("")}</div>`;
  return { "text/plain": reproduceText(r), "text/html": html };
}
