// Pipelines: named stages, each a folds run; stacked stages learn from
// earlier stages' out-of-fold predictions.
export { pipeline, type PipelineInput, type PipelineResult, type PipelineProgress, type StageView } from "./pipeline";
export { parsePipelineConfig, pipelineConfig, type PipelineConfig, type PipelineConfigInput } from "./config";
export { type PipelineRecord, type StageRecord } from "./store";
