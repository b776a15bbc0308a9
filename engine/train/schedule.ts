// Learning rate as a pure function of the global step, so a resumed run needs
// no schedule state beyond the step itself.
import type { ScheduleKind } from "./options";

export interface ScheduleSettings {
  type: ScheduleKind;
  warmupEpochs: number;
  minLearningRate: number;
}

export function learningRateAt(step: number, base: number, s: ScheduleSettings, stepsPerEpoch: number, totalSteps: number): number {
  const warmup = Math.round(s.warmupEpochs * stepsPerEpoch);
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
  if (s.type === "constant") return base;
  const span = Math.max(1, totalSteps - warmup);
  const progress = Math.min(1, Math.max(0, (step - warmup) / span));
  return s.minLearningRate + (base - s.minLearningRate) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
