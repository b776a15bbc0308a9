// Tables for the experiment magics (%runs, %compare, %sweep): plain text with
// aligned columns for terminals, and HTML whose column headers sort the rows
// when clicked. The sorting is one inline onclick handler (no <script>, no
// extension): Jupyter runs it in trusted outputs (the classic notebook,
// Notebook 7, JupyterLab); where outputs are untrusted or sanitised the table
// still shows, unsorted. Cells carry their sort value in data-v.
import { escapeHtml } from "../../engine/util/html";

export interface Cell {
  text: string;
  /** Sort value (numbers sort numerically); absent: sorts last. */
  sort?: number | string | null;
  /** The best value of its column: bold on green, and a ★ in text. */
  best?: boolean;
  /** Tooltip (HTML only). */
  title?: string;
  color?: string;
}

export interface Column {
  label: string;
  /** Right-aligned (numbers). */
  numeric?: boolean;
}

const SORT_JS =
  "(function(th){var tb=th.closest('table').tBodies[0],i=th.cellIndex,asc=th.getAttribute('data-dir')!=='asc';" +
  "Array.prototype.forEach.call(th.parentNode.cells,function(h){h.removeAttribute('data-dir');var s=h.querySelector('.tsc-dir');if(s)s.textContent='';});" +
  "th.setAttribute('data-dir',asc?'asc':'desc');var a=th.querySelector('.tsc-dir');if(a)a.textContent=asc?' \u25b2':' \u25bc';" +
  "var rows=Array.prototype.slice.call(tb.rows);rows.sort(function(r1,r2){var x=r1.cells[i].getAttribute('data-v'),y=r2.cells[i].getAttribute('data-v');" +
  "if(x===null||x==='')return(y===null||y==='')?0:1;if(y===null||y==='')return -1;" +
  "var nx=Number(x),ny=Number(y),c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:(x<y?-1:x>y?1:0);return asc?c:-c;});" +
  "rows.forEach(function(r){tb.appendChild(r);});})(this)";

/** The onclick handler's source, for checking that it parses. */
export const SORT_HANDLER = SORT_JS;

const sortAttr = (v: Cell["sort"]) => (v === undefined || v === null || (typeof v === "number" && !Number.isFinite(v)) ? "" : String(v));

export function htmlTable(columns: Column[], rows: Cell[][], opts: { sortable?: boolean } = {}): string {
  const sortable = opts.sortable ?? true;
  const head = columns
    .map((c) => {
      const align = c.numeric ? "right" : "left";
      return sortable
        ? `<th style="text-align:${align};cursor:pointer;white-space:nowrap" title="click to sort" onclick="${escapeHtml(SORT_JS)}">${escapeHtml(c.label)}<span class="tsc-dir"></span></th>`
        : `<th style="text-align:${align};white-space:nowrap">${escapeHtml(c.label)}</th>`;
    })
    .join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((cell, i) => {
            const style = [`text-align:${columns[i]?.numeric ? "right" : "left"}`, cell.best ? "font-weight:bold;background:#d4f7d4" : "", cell.color ? `color:${cell.color}` : ""]
              .filter(Boolean)
              .join(";");
            const v =
              typeof cell.sort === "string" || typeof cell.sort === "number"
                ? ` data-v="${escapeHtml(sortAttr(cell.sort))}"`
                : cell.sort === undefined
                  ? ` data-v="${escapeHtml(cell.text === "-" ? "" : cell.text)}"`
                  : ` data-v=""`;
            return `<td style="${style}"${v}${cell.title ? ` title="${escapeHtml(cell.title)}"` : ""}>${escapeHtml(cell.text)}${cell.best ? " \u2605" : ""}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("");
  return `<table class="tscolab-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function textTable(columns: Column[], rows: Cell[][]): string {
  const cells = rows.map((r) => r.map((c) => (c.best ? `${c.text} *` : c.text)));
  const widths = columns.map((c, i) => Math.max(c.label.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((t, i) => (columns[i]?.numeric ? t.padStart(widths[i]!) : t.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.label)), ...cells.map(line)].join("\n");
}

/** A metric value for a table: 4 significant digits, tiny and huge ones in exponent form. */
export function metricText(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

export function durationText(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "-";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** `learningRate=0.01 model.hidden=[16]`. */
export function paramsText(p: Record<string, unknown> | null | undefined): string {
  if (!p || !Object.keys(p).length) return "-";
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}
