// What the engine reports while it trains (the magic and the CLI render it):
// one stream of typed events per run, from the tiers, the training loop's
// progress hook and the end of the run.
import type { Task } from "../data/schema";
import type { TierKey, TierResult } from "./tiers";

/** One line of metrics.jsonl, also the points of the live plot. */
export interface EpochRow {
  epoch: number;
  step: number;
  loss: number;
  samplesPerSec: number;
  wallMs: number;
  lr: number;
  [metric: string]: number;
}

export interface ProgressEvent {
  phase: "tier1" | "tier2" | "tier3" | "done";
  runId: string;
  task: Task;
  /** 1-based epoch being trained (tier 3). */
  epoch: number;
  epochs: number;
  step: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  /** Running mean training loss of the current epoch, when read. */
  loss: number | null;
  samplesPerSec: number | null;
  etaMs: number | null;
  /** Completed epochs so far. */
  history: EpochRow[];
  tiers: Partial<Record<TierKey, TierResult>>;
  /** True when the epoch just ended (a new plot point). */
  epochEnded: boolean;
  message?: string;
  /** Language modeling: tokens per example, so speeds show as tokens/s. */
  tokensPerSample?: number;
  /** Set on the last event of an interrupted run: tier 3 shows as stopped, as in the summary. */
  stopped?: boolean;
  /** A local-first run's Drive: available or since when not, and how many checkpoints wait to be copied. */
  drive?: DriveProgress;
  /** A fold of a folds run: `runId` is then the parent's, and this the fold's place and own run. */
  fold?: { fold: number; folds: number; runId: string };
}

export interface DriveProgress {
  state: "ok" | "unavailable";
  /** ISO time the Drive became unavailable. */
  since: string | null;
  reason: string | null;
  /** Local checkpoints not yet on the Drive. */
  waiting: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** The run's facts every event carries; `history` and `tiers` are the run's own, filled as it goes. */
export type RunFacts = Pick<ProgressEvent, "runId" | "task" | "epochs" | "stepsPerEpoch" | "history" | "tiers" | "tokensPerSample">;

/** Where the loop is (the Trainer). */
export interface LoopCounters {
  readonly epoch: number;
  readonly step: number;
  readonly stepInEpoch: number;
}

const PHASE: Record<TierKey, ProgressEvent["phase"]> = { "1": "tier1", "2": "tier2", "3": "tier3" };

/**
 * The one event stream of a run. Every event takes its position from the
 * loop's counters, so a resumed run's first event starts at its checkpoint,
 * not at step 0.
 */
export class ProgressStream {
  private last: Omit<ProgressEvent, keyof RunFacts | "step" | "stepInEpoch"> | null = null;
  private driveOf?: () => DriveProgress;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly run: RunFacts,
    private readonly at: LoopCounters,
  ) {}

  /** Every event carries the Drive's state from now on. */
  watchDrive(state: () => DriveProgress): void {
    this.driveOf = state;
  }

  /** The Drive went away or came back: the last event again, with the new state. */
  driveChanged(): void {
    if (this.last && this.last.phase !== "done") this.send(this.last);
  }

  /** A tier starts or ends. */
  tier(key: TierKey, message: string): void {
    this.send({ phase: PHASE[key], epoch: this.at.epoch, loss: null, samplesPerSec: null, etaMs: null, epochEnded: false, message });
  }

  /** Tier 3: the running loss during an epoch, or the epoch's loss when it ends. */
  training(t: Pick<ProgressEvent, "loss" | "samplesPerSec" | "etaMs" | "epochEnded">): void {
    this.send({ phase: "tier3", epoch: Math.min(this.at.epoch + (t.epochEnded ? 0 : 1), this.run.epochs), ...t, message: undefined });
  }

  /** The last event: how the run ended. */
  done(status: "completed" | "stopped" | "failed"): void {
    this.send({ phase: "done", epoch: this.at.epoch, loss: null, samplesPerSec: null, etaMs: null, epochEnded: false, message: `run ${status}`, stopped: status === "stopped" });
  }

  private send(e: Omit<ProgressEvent, keyof RunFacts | "step" | "stepInEpoch">): void {
    this.last = e;
    const drive = this.driveOf?.();
    this.listener?.({ ...this.run, step: this.at.step, stepInEpoch: this.at.stepInEpoch, ...e, ...(drive ? { drive } : {}) });
  }
}
