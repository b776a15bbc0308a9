// %drive mount [DIR] / %drive status [DIR] / %drive sync [DIR]: the Drive
// root, the folder under which every run keeps its checkpoints, metrics and
// exports (tscolab/runs/<id>), and the local copies of local-first runs with
// their mirrors (sync copies what is still only local).
import { z } from "zod";
import { escapeHtml } from "../../engine/util/html";
import { registerMagic } from "../registry";
import { driveMount, driveStatus, driveSync, type DriveStatus, type LocalCopy } from "../../engine/store/drive";
import { describeMirror } from "../../engine/store/mirror";

export const driveArgs = z.object({
  action: z.enum(["mount", "status", "sync"]).default("status").describe("mount a folder as the Drive root, show it, or copy what local-first runs left only local to it"),
  dir: z
    .string()
    .optional()
    .meta({ description: "folder to mount, or to show instead of the current root (default: $TSCOLAB_DRIVE, else ~/tscolab-drive)", complete: { dirs: true } }),
  verify: z.boolean().default(false).describe("hash every checkpoint against its MANIFEST.json and report the corrupt ones"),
  json: z.boolean().default(false).describe("print the result as one JSON object (CLI)"),
});

export function formatBytes(n: number | null): string {
  if (n === null) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const COLUMNS = ["run", "status", "resumable", "checkpoints", "newest step", "best step", "size", "updated"] as const;

/** `3`, or `2 valid / 3` once verified. */
function checkpointCell(r: DriveStatus["runs"][number]): string {
  return r.verified ? `${r.verified.valid} valid / ${r.checkpoints}` : String(r.checkpoints);
}

function rows(s: DriveStatus): string[][] {
  return s.runs.map((r) => [
    r.runId,
    r.status,
    r.resumable ? "yes" : "no",
    checkpointCell(r),
    r.newestStep === null ? "-" : String(r.newestStep),
    r.bestStep === null ? "-" : String(r.bestStep),
    formatBytes(r.bytes),
    r.updatedAt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
  ]);
}

/** One line per local copy: its mirror's state, or that nothing mirrors it in this process. */
function localLine(c: LocalCopy): string {
  if (!c.mirror) return `${c.runId}: local copy in ${c.localDir} (not being copied; %drive sync copies it)`;
  const m = c.mirror;
  if (m.state === "ok" && m.onlyLocal.length) return `${c.runId}: being copied to the Drive: ${m.onlyLocal.join(", ")}`;
  return `${c.runId}: ${describeMirror(m)}`;
}

export function renderDriveStatus(s: DriveStatus) {
  const head =
    `Drive root: ${s.root}${s.exists ? "" : " (not created yet)"}\n` +
    (s.unavailable ? `Drive unavailable: ${s.unavailable} (runs not listed)` : `Free: ${formatBytes(s.freeBytes)} of ${formatBytes(s.totalBytes)}\nRuns: ${s.runs.length}`);
  const table = rows(s);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const corrupt = s.runs.flatMap((r) => (r.verified?.corrupt ?? []).map((c) => `${r.runId}: ${c}`));
  const local = s.local.map(localLine);
  const text =
    (table.length ? `${head}\n\n${line(COLUMNS)}\n${table.map(line).join("\n")}` : s.unavailable ? head : `${head} (start one with %train)`) +
    (corrupt.length ? `\n\nCorrupt checkpoints (ignored by --resume):\n${corrupt.map((c) => `  ${c}`).join("\n")}` : "") +
    (local.length ? `\n\nLocal copies (local-first runs):\n${local.map((l) => `  ${l}`).join("\n")}` : "");
  const html =
    `<div><b>Drive root</b> <code>${escapeHtml(s.root)}</code>${s.exists ? "" : " (not created yet)"} · free ${escapeHtml(formatBytes(s.freeBytes))} of ${escapeHtml(formatBytes(s.totalBytes))} · ${s.runs.length} run(s)</div>` +
    (table.length
      ? `<table><thead><tr>${COLUMNS.map((c) => `<th style="text-align:left">${c}</th>`).join("")}</tr></thead><tbody>` +
        table.map((r) => `<tr>${r.map((c) => `<td style="text-align:left">${escapeHtml(c)}</td>`).join("")}</tr>`).join("") +
        `</tbody></table>`
      : "") +
    (corrupt.length ? `<div><b>Corrupt checkpoints</b> (ignored by --resume):<ul>${corrupt.map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join("")}</ul></div>` : "") +
    (s.unavailable ? `<div style="color:#c33">Drive unavailable: ${escapeHtml(s.unavailable)} (runs not listed)</div>` : "") +
    (local.length ? `<div><b>Local copies</b> (local-first runs):<ul>${local.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul></div>` : "");
  return { "text/plain": text, "text/html": html };
}

registerMagic({
  name: "drive",
  summary: "Mount a folder as the Drive root, show the root, its free space, runs and mirrors, or sync local copies to it.",
  args: driveArgs,
  positionals: [{ name: "action" }, { name: "dir" }],
  examples: ["%drive mount /content/drive/MyDrive", "%drive status", "%drive status --verify", "%drive sync", "tscolab drive status ~/tscolab-drive --json"],
  resultType: { name: "DriveStatus", module: "engine/store/drive" },
  async run(args, ctx): Promise<DriveStatus> {
    if (args.action === "mount") return driveMount(args.dir, ctx.cwd);
    if (args.action === "sync") return driveSync({ drive: args.dir, cwd: ctx.cwd });
    return driveStatus({ drive: args.dir, cwd: ctx.cwd, verify: args.verify });
  },
  render: renderDriveStatus,
});
