// A written bundle for people: where, how big, what it holds.
import { escapeHtml } from "../../engine/util/html";
import type { BundleResult } from "../../engine/bundle/bundle";
import type { MimeBundle } from "../types";

export function bundleBundle(r: BundleResult, asJson: boolean): MimeBundle {
  if (asJson) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  const kib = (r.bytes / 1024).toFixed(1);
  const data = r.data.map((d) => `${d.role} ${d.source} sha256 ${d.sha256.slice(0, 12)}…`).join("; ");
  const text = [
    `Bundle of run ${r.runId} → ${r.path} (${kib} KiB, ${r.files.length} files; final step ${r.final.step}, epoch ${r.final.epoch})`,
    `data: ${data || "none recorded"}`,
    ...r.notes.map((n) => `note: ${n}`),
    `reproduce with: tscolab reproduce ${r.path}`,
  ].join("\n");
  const html =
    `<div><b>Bundle</b> of run <code>${escapeHtml(r.runId)}</code> → <code>${escapeHtml(r.path)}</code> (${kib} KiB)` +
    `<div>data: ${escapeHtml(data || "none recorded")}</div>` +
    `<details><summary>${r.files.length} files</summary><code>${r.files.map(escapeHtml).join("<br>")}</code></details>` +
    r.notes.map((n) => `<div style="font-size:smaller">note: ${escapeHtml(n)}</div>`).join("") +
    `</div>`;
  return { "text/plain": text, "text/html": html };
}
