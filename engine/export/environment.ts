// A snapshot of where the export ran, for the health report and the bundle:
// enough to tell apart "the model changed" from "the machine changed".
import os from "node:os";
import * as tf from "@tensorflow/tfjs";

export function environmentSnapshot(backend: { name: string; patches: string[] }): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    os: `${os.type()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    tfjs: tf.version.tfjs,
    tfjsCore: tf.version["tfjs-core"],
    tfBackend: tf.getBackend(),
    backend: backend.name,
    patches: backend.patches,
    takenAt: new Date().toISOString(),
  };
}
