// Adaptive profiles: training defaults (batch size, epochs, checkpoint cadence)
// chosen from the device training will really use.
// A GPU that no backend can drive still gets its own tier reported, but the
// profile is then `cpu`.
import { z } from "zod";

export const profileName = z.enum(["cpu", "optimized", "enhanced", "aggressive"]);
export type ProfileName = z.infer<typeof profileName>;

export const profileSettings = z.object({
  batchSize: z.number().int().positive(),
  epochs: z.number().int().positive(),
  checkpointEverySteps: z.number().int().nonnegative(),
  checkpointEveryEpochs: z.number().int().nonnegative(),
  validateEveryEpochs: z.number().int().positive(),
  precision: z.enum(["float32", "mixed_float16"]),
});
export type ProfileSettings = z.infer<typeof profileSettings>;

export const PROFILES: Record<ProfileName, ProfileSettings> = {
  cpu: { batchSize: 32, epochs: 20, checkpointEverySteps: 0, checkpointEveryEpochs: 1, validateEveryEpochs: 1, precision: "float32" },
  optimized: { batchSize: 64, epochs: 30, checkpointEverySteps: 500, checkpointEveryEpochs: 1, validateEveryEpochs: 1, precision: "float32" },
  enhanced: { batchSize: 128, epochs: 40, checkpointEverySteps: 1000, checkpointEveryEpochs: 1, validateEveryEpochs: 1, precision: "float32" },
  aggressive: { batchSize: 256, epochs: 50, checkpointEverySteps: 2000, checkpointEveryEpochs: 1, validateEveryEpochs: 1, precision: "float32" },
};

/** GPU class from its name and memory (T4 → optimized, V100/L4/A10 → enhanced, A100/H100/H200 → aggressive). */
export function gpuTier(name: string, memoryMiB: number): Exclude<ProfileName, "cpu"> {
  const n = name.toUpperCase();
  if (/\b(A100|H100|H200|H800|A800|B100|B200|GH200)\b/.test(n) || memoryMiB >= 40 * 1024) return "aggressive";
  if (/\b(V100|L4|A10G?|A30|A40|L40S?|RTX\s*A6000|A6000)\b/.test(n) || memoryMiB > 16 * 1024) return "enhanced";
  return "optimized";
}

export const presetName = z.enum(["fast_dev", "standard", "ablation"]);
export type PresetName = z.infer<typeof presetName>;

/** Presets shape the budget on top of the profile. */
export function applyPreset(settings: ProfileSettings, preset: PresetName): ProfileSettings {
  switch (preset) {
    case "fast_dev":
      return { ...settings, epochs: Math.max(1, Math.min(3, Math.round(settings.epochs / 10))) };
    case "ablation":
      return { ...settings, epochs: Math.max(1, Math.round(settings.epochs / 2)) };
    default:
      return settings;
  }
}

/** What the profile choice needs to know about a GPU (structurally a gpu.ts GpuDevice). */
export interface ProfileGpu {
  name: string;
  memoryMiB: number | null;
  tier: Exclude<ProfileName, "cpu">;
}

export interface ProfileInput {
  /** The backend training uses (tensorflow-gpu, wasm, ...); null when none works. */
  backend: string | null;
  /** Where that backend computes. */
  device: "gpu" | "cpu" | null;
  gflops?: number | null;
  /** The GPU it computes on, when device is "gpu" and nvidia-smi described it. */
  trainingGpu?: ProfileGpu | null;
  /** Every GPU detected, used or not: their own tiers go into the reason. */
  detectedGpus?: ProfileGpu[];
}

/** The profile follows the device training will really use (not merely a GPU that is present), with the reason. */
export function profileForDevice(p: ProfileInput): { name: ProfileName; reason: string } {
  if (p.device === "gpu") {
    const d = p.trainingGpu;
    if (d) return { name: d.tier, reason: `training runs on ${d.name} (${d.memoryMiB ?? "?"} MiB) through ${p.backend}, a ${d.tier}-class GPU` };
    return { name: "optimized", reason: `${p.backend} uses a GPU that nvidia-smi did not describe; assuming the smallest GPU class` };
  }
  const speed = p.gflops ? ` at ${p.gflops} GFLOP/s` : "";
  const base = p.backend ? `training runs on the CPU through ${p.backend}${speed}` : "no backend works, so nothing runs on a GPU";
  const gpus = p.detectedGpus ?? [];
  if (!gpus.length) return { name: "cpu", reason: `${base}; no GPU detected` };
  return { name: "cpu", reason: `${base}; the GPU is unused (${gpus.map((d) => `${d.name} would be ${d.tier}`).join(", ")})` };
}
