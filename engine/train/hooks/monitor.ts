// The metric that picks the best model and drives early stopping: the
// configured validation metric (val_loss by default), or the training loss
// when there is no validation data.
import { higherIsBetter } from "../metrics";
import { DEFAULT_MONITOR } from "../options";
import type { EpochEnd } from "../loop";

export interface Monitor {
  metric: string;
  higherIsBetter: boolean;
}

export function monitorFor(configured: string | undefined, hasValidation: boolean): Monitor {
  const metric = hasValidation ? (configured ?? DEFAULT_MONITOR) : "loss";
  return { metric, higherIsBetter: higherIsBetter(metric) };
}

/** The monitored value at an epoch's end; undefined when the epoch did not measure it or it is not finite. */
export function monitoredValue(m: Monitor, e: EpochEnd): number | undefined {
  const values: Record<string, number> | null = e.metrics;
  const value = m.metric === "loss" ? e.loss : values?.[m.metric];
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** Whether `value` beats `reference` by more than `minDelta` in the monitor's direction. */
export function improves(m: Monitor, value: number, reference: number, minDelta = 0): boolean {
  return m.higherIsBetter ? value > reference + minDelta : value < reference - minDelta;
}
