// Input (and output) history for history_request: tail, range and search,
// as IPython's HistoryManager answers them. One session per kernel process;
// session 0 or a negative session in a range request means this one.
import { z } from "zod";

export const historyRequest = z.object({
  output: z.boolean().default(false),
  raw: z.boolean().default(true),
  hist_access_type: z.enum(["tail", "range", "search"]),
  session: z.number().int().optional(),
  start: z.number().int().optional(),
  stop: z.number().int().optional(),
  n: z.number().int().optional(),
  pattern: z.string().optional(),
  unique: z.boolean().default(false),
});
export type HistoryRequest = z.infer<typeof historyRequest>;

type Entry = { line: number; input: string; output: string | null };
export type HistoryItem = [number, number, string | [string, string | null]];

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[\\s\\S]*")
    .replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}

export class History {
  private readonly entries: Entry[] = [];
  readonly session = 1;

  add(line: number, input: string): void {
    this.entries.push({ line, input, output: null });
  }

  setOutput(line: number, output: string): void {
    const e = this.entries.find((x) => x.line === line);
    if (e) e.output = output;
  }

  query(req: HistoryRequest): HistoryItem[] {
    let picked: Entry[];
    if (req.hist_access_type === "tail") {
      picked = this.entries.slice(-Math.max(0, req.n ?? 10));
    } else if (req.hist_access_type === "range") {
      const session = req.session ?? 0;
      if (session > 0 && session !== this.session) return [];
      const start = req.start ?? 1;
      const stop = req.stop ?? Infinity;
      picked = this.entries.filter((e) => e.line >= start && e.line < stop);
    } else {
      const re = globToRegExp(req.pattern ?? "*");
      picked = this.entries.filter((e) => re.test(e.input));
      if (req.unique) {
        const seen = new Set<string>();
        picked = picked
          .reverse()
          .filter((e) => !seen.has(e.input) && seen.add(e.input))
          .reverse();
      }
      if (req.n !== undefined) picked = picked.slice(-req.n);
    }
    return picked.map((e) => [this.session, e.line, req.output ? [e.input, e.output] : e.input]);
  }
}
