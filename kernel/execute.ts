// The execute path: one cell in, outputs to a sink, a status out.
// A cell is split into TypeScript pieces and magics (./cell.ts) that run in
// order and share the notebook's variables; the first failure stops the cell.
import { randomUUID } from "node:crypto";
import { ZodError } from "zod";
import { invokeMagic, type MagicOutcome } from "../magics/registry";
import { TscolabError, UserFacingError, type MagicContext, type MimeBundle } from "../magics/types";
import { escapeHtml } from "../engine/util/html";
import { splitCell, type Piece } from "./cell";
import { MIME_BUNDLE, toMimeBundle, type OutputSink } from "./display";
import { errorInfo, InterruptedError, type ErrorInfo, type TsRunner } from "./ts_runner";

/** How long a magic may take to stop cleanly after an interrupt. */
const MAGIC_STOP_GRACE_MS = 20_000;

/** Errors a user caused and can fix, and zod's reports on bad input: one line, no stack trace. */
function isOneLineError(e: unknown): e is Error {
  return e instanceof UserFacingError || e instanceof ZodError;
}

export function magicErrorInfo(e: unknown): ErrorInfo {
  if (isOneLineError(e)) {
    return { ename: e.name, evalue: e.message, traceback: [`${e.name}: ${e.message}`] };
  }
  return errorInfo(e);
}

/** execute_reply payloads (help shown in the pager, as IPython does for `%name?`). */
export type Payload = { source: "page"; data: MimeBundle; start: number };

export interface CellOutcome {
  status: "ok" | "error";
  error?: ErrorInfo;
  payload: Payload[];
}

/** A live display marked as ended: its last state, and one line saying why it stopped changing. */
export function endedBundle(bundle: MimeBundle, reason: string): MimeBundle {
  const out: MimeBundle = { ...bundle, "text/plain": `${bundle["text/plain"]}\n⏹ ${reason}` };
  if (typeof bundle["text/html"] === "string") out["text/html"] = `${bundle["text/html"]}<div style="color:#888">⏹ ${escapeHtml(reason)}</div>`;
  return out;
}

export class CellExecutor {
  private interruptCell?: (e: Error) => void;
  /** Displays of the magic running now, with their latest bundle. */
  private readonly live = new Map<string, { bundle: MimeBundle; sink: OutputSink }>();
  private abort?: AbortController;
  private backendChosen = false;

  constructor(
    readonly ts: TsRunner,
    private readonly cwd: string,
  ) {}

  /**
   * Stop button / SIGINT / interrupt_request. TypeScript is cut off at once.
   * A magic is asked to stop (its abort signal) and given a grace period to
   * finish cleanly — %train stops after the current step and checkpoints —
   * and is cut off if it does not, or at a second interrupt.
   */
  interrupt(): void {
    this.ts.interrupt();
    const reject = this.interruptCell; // this magic's, not a later one's
    const cutOff = () => reject?.(new InterruptedError("execution interrupted; the kernel and its variables are kept"));
    if (!this.abort) return;
    if (this.abort.signal.aborted) return cutOff();
    this.abort.abort(new InterruptedError("interrupted by the user"));
    setTimeout(cutOff, MAGIC_STOP_GRACE_MS).unref();
  }

  async run(code: string, executionCount: number, sink: OutputSink): Promise<CellOutcome> {
    const payload: Payload[] = [];
    let pieces: Piece[];
    try {
      pieces = splitCell(code);
    } catch (e) {
      return this.fail(sink, magicErrorInfo(e));
    }
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      const last = i === pieces.length - 1;
      if (piece.kind === "ts") {
        await this.backendBeforeTfjs(piece.code);
        const out = await this.ts.run(piece.code, piece.line);
        if (!out.ok) return this.fail(sink, out.error);
        if (last && out.hasValue) sink.result(toMimeBundle(out.value), executionCount);
        continue;
      }
      try {
        const help = await this.runMagic(piece, last, executionCount, sink);
        if (help?.pager) payload.push({ source: "page", data: { "text/plain": help.text }, start: 0 });
        else if (help) sink.stream("stdout", help.text + "\n");
      } catch (e) {
        return this.fail(sink, magicErrorInfo(e));
      }
    }
    return { status: "ok", payload };
  }

  /**
   * Left alone, a cell's own tfjs starts on its cpu backend (about 40x slower
   * than wasm here, with a banner on stderr) until a magic picks the backend.
   * The first cell that imports tfjs gets the backend %train will use instead.
   */
  private async backendBeforeTfjs(code: string): Promise<void> {
    if (this.backendChosen || !/["']@tensorflow\/tfjs[\w-]*["']/.test(code)) return;
    this.backendChosen = true;
    try {
      const { ensureBackend } = await import("../engine/backend");
      await ensureBackend();
    } catch {
      // No backend could be set: the cell runs on tfjs's default, and %verify_env says why.
    }
  }

  private fail(sink: OutputSink, error: ErrorInfo): CellOutcome {
    sink.error(error.ename, error.evalue, error.traceback);
    return { status: "error", error, payload: [] };
  }

  private async runMagic(piece: Extract<Piece, { kind: "magic" }>, last: boolean, executionCount: number, sink: OutputSink): Promise<MagicOutcome["help"]> {
    this.abort = new AbortController();
    const ctx: MagicContext = {
      cwd: this.cwd,
      signal: this.abort.signal,
      variables: this.ts.variables,
      rich: true,
      stdout: (text) => sink.stream("stdout", text),
      stderr: (text) => sink.stream("stderr", text),
      clearOutput: (wait) => sink.clearOutput(wait),
      display: (bundle: MimeBundle) => {
        const id = randomUUID();
        sink.display(bundle, id);
        this.live.set(id, { bundle, sink });
        return {
          update: (next: MimeBundle) => {
            sink.display(next, id, true);
            if (this.live.has(id)) this.live.set(id, { bundle: next, sink });
          },
        };
      },
    };
    // An engine that ignores the abort signal must still not hold the cell:
    // after the grace period (or a second interrupt) the cell settles anyway.
    const interrupted = new Promise<never>((_, reject) => (this.interruptCell = reject));
    interrupted.catch(() => {});
    try {
      const outcome = await Promise.race([invokeMagic(piece.name, piece.args, ctx, { evaluate: (expr) => this.ts.evaluate(expr), body: piece.body }), interrupted]);
      if (outcome.help) return outcome.help;
      if (outcome.result === undefined || !outcome.bundle) return;
      const bundle = outcome.bundle;
      if (outcome.result !== null && typeof outcome.result === "object" && !Object.isFrozen(outcome.result)) {
        // Later cells that show the bound result get the same rich rendering.
        Object.defineProperty(outcome.result, MIME_BUNDLE, { value: () => bundle, enumerable: false, configurable: true });
      }
      if (outcome.bindAs) await this.ts.bind(outcome.bindAs, outcome.result, outcome.spec.resultType);
      if (last) sink.result(bundle, executionCount);
      else sink.display(bundle);
      const failure = outcome.spec.failure?.(outcome.result);
      if (failure) throw new TscolabError(`%${outcome.spec.name} failed: ${failure}`);
    } finally {
      this.interruptCell = undefined;
      this.abort = undefined;
      this.live.clear(); // the magic left its displays in their final state
    }
  }

  /**
   * The kernel is going away while a magic runs: its live displays (a
   * progress bar with an ETA) get one last update saying so, instead of
   * staying frozen mid-run in the notebook. A kernel that is killed cannot.
   */
  endLiveDisplays(reason: string): void {
    for (const [id, { bundle, sink }] of this.live) sink.display(endedBundle(bundle, reason), id, true);
    this.live.clear();
  }
}
