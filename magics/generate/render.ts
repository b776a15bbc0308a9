// Rendering for %generate: the prompt in bold and the continuation, with one
// line saying how it was drawn; while tokens stream, the same without the line.
import { escapeHtml } from "../../engine/util/html";
import type { GenerateResult } from "../../engine/text/generate";
import type { MimeBundle } from "../types";

const box = (prompt: string, text: string) => `<pre style="white-space:pre-wrap;margin:0"><b>${escapeHtml(prompt)}</b>${escapeHtml(text)}</pre>`;

export function streamBundle(prompt: string, text: string): MimeBundle {
  return { "text/plain": prompt + text, "text/html": `<div class="tscolab-generate">${box(prompt, text)}<div style="color:#888">generating…</div></div>` };
}

export function generateLine(r: GenerateResult): string {
  const how = r.temperature === 0 ? "greedy" : `temperature ${r.temperature}${r.topK ? `, top-k ${r.topK}` : ""}, seed ${r.seed}`;
  const from = r.source.kind === "run" ? `run ${String(r.source.runId)} (${String(r.source.checkpoint)})` : `${String(r.source.format)} export ${String(r.source.path)}`;
  const speed = r.tokensPerSec ? `, ${r.tokensPerSec} tokens/s` : "";
  return `${r.tokens.length} tokens${r.stopped ? " (stopped)" : ""} · ${how} · ${from}${speed}`;
}

export function generateBundle(r: GenerateResult, opts: { json: boolean; streamed: boolean }): MimeBundle {
  if (opts.json) return { "text/plain": JSON.stringify(r, null, 2), "application/json": r };
  // On a terminal the text already streamed: only the line about it is left to print.
  if (opts.streamed) return { "text/plain": `-- ${generateLine(r)}` };
  return {
    "text/plain": `${r.prompt}${r.text}\n-- ${generateLine(r)}`,
    "text/html": `<div class="tscolab-generate">${box(r.prompt, r.text)}<div style="color:#888;font-size:smaller">${escapeHtml(generateLine(r))}</div></div>`,
  };
}
