// What the engine reports while it trains (the magic and the CLI render it).
import type { TierResult } from "./tiers";

/** One line of metrics.jsonl (SPEC 6), also the points of the live plot. */
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
  task: "classification" | "regression";
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
  tiers: Partial<Record<"1" | "2" | "3", TierResult>>;
  /** True when the epoch just ended (a new plot point). */
  epochEnded: boolean;
  message?: string;
  /** Set on the last event of an interrupted run: tier 3 shows as stopped, as in the summary. */
  stopped?: boolean;
}

export type ProgressListener = (event: ProgressEvent) => void;
