// One sweep trial in its own process (forked by the sweep with an IPC
// channel): an ordinary train() run, new or resumed, whose progress and
// summary go back to the sweep as messages. SIGINT, or the sweep going away
// (its channel closes), stops the run after the current step with a
// checkpoint, as the stop button does, so the trial can be resumed. SIGTERM
// does the same.
import type { ProgressEvent } from "../train/progress";

export interface TrialRequest {
  type: "run";
  /** A new run from this config, or, with `resume`, the stored one. */
  config?: Record<string, unknown>;
  resume?: string;
  drive: string;
  cwd: string;
  sweep: { sweepId: string; sweepParams: Record<string, unknown>; sweepTrial: string };
  objective: string;
  configSource: string;
}

export type TrialMessage =
  | { type: "run-id"; runId: string }
  | { type: "progress"; phase: ProgressEvent["phase"]; epoch: number; epochs: number; value: number | null; message?: string }
  | { type: "done"; summary: Record<string, unknown> }
  | { type: "error"; name: string; message: string };

function send(msg: TrialMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    try {
      process.send(msg, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

async function runTrial(req: TrialRequest): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop); // a whole process group stopped (Slurm's scancel, a container's shutdown): the same clean stop
  process.on("disconnect", stop);
  let runId: string | undefined;
  let lastPhase = "";
  try {
    const { train } = await import("../train/train");
    const result = await train(req.resume ? undefined : (req.config as never), {
      cwd: req.cwd,
      drive: req.drive,
      resume: req.resume,
      signal: controller.signal,
      configSource: req.configSource,
      sweep: req.sweep,
      onProgress: (e) => {
        if (e.runId !== runId) {
          runId = e.runId;
          void send({ type: "run-id", runId });
        }
        if (!e.epochEnded && e.phase === lastPhase) return;
        lastPhase = e.phase;
        const last = e.history[e.history.length - 1];
        const value = last && typeof last[req.objective] === "number" ? last[req.objective]! : null;
        void send({ type: "progress", phase: e.phase, epoch: e.phase === "tier3" || e.phase === "done" ? e.history.length : 0, epochs: e.epochs, value, message: e.message });
      },
    });
    await send({ type: "done", summary: JSON.parse(JSON.stringify(result)) });
  } catch (e) {
    await send({ type: "error", name: (e as Error).name ?? "Error", message: (e as Error).message ?? String(e) });
    process.exitCode = 1;
  }
}

if (require.main === module) {
  process.once("message", (req: TrialRequest) => {
    runTrial(req).then(
      () => process.exit(),
      () => process.exit(1),
    );
  });
}
