// The Drive store: run folders, atomic checkpoints, metrics and
// model files. Trainer, exporter and %drive all go through these functions.
export { createRun, openRun, updateRunJson, listRunIds, makeRunId, slugRunName, runJsonSchema, RUN_JSON, METRICS_FILE, EXPORTS_DIR } from "./runs";
export type { RunHandle, RunJson } from "./runs";
export { appendMetrics, readMetrics, rewindMetrics } from "./metrics";
export type { MetricsRow } from "./metrics";
export {
  commitCheckpoint,
  listValidCheckpoints,
  readCheckpoint,
  loadLatestCheckpoint,
  cleanStaleTemporaries,
  checkpointName,
  parseCheckpointName,
  CHECKPOINTS_DIR,
  BEST_DIR,
} from "./checkpoints";
export type { CheckpointFiles, CommitCheckpointOptions, CommittedCheckpoint, ValidCheckpoint, CorruptCheckpoint, LoadedCheckpoint } from "./checkpoints";
export { verifyCheckpointDir, describeProblems, MANIFEST_NAME, manifestSchema } from "./manifest";
export type { Manifest, CheckpointProblem } from "./manifest";
export { modelToFiles, saveModelArtifacts, loadModelArtifacts, loadModelFromFiles, artifactsFromFiles, MODEL_JSON, WEIGHTS_BIN } from "./model_artifacts";
export type { TfForLoading, SavableModel } from "./model_artifacts";
export { prepareResume } from "./resume";
export { RunMirror, activeMirrors, describeMirror } from "./mirror";
export type { MirrorState } from "./mirror";
export { createLocalFirstRun, prepareLocalFirstResume } from "./local_first";
export type { RunPlace } from "./local_first";
export { resolveLocalRoot, localDriveRoot } from "./local_root";
export type { ResumePoint } from "./resume";
export { DriveWriteError, isDiskError, rethrowDiskError } from "./disk_errors";
export { sha256 } from "./durable_fs";
export { PROFILE_JSON, DIGESTS_FILE, writeProfileFile, readProfileFile, appendDigests, readDigests, parseDigests, rewindDigests } from "./run_files";
export type { DigestLine } from "./run_files";
