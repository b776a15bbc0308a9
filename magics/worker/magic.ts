// %worker / `tscolab worker --queue redis://HOST:PORT`: serve sweep trials
// from a BullMQ queue until stopped (SIGTERM, Ctrl-C, the stop button), each
// running trial going back on the queue after its current step with a
// checkpoint; runWorker() does the work.
import { z } from "zod";
import { registerMagic } from "../registry";
import type { MagicContext } from "../types";
import type { WorkerResult } from "../../engine/experiments/queue/worker";
import { workerBundle } from "./render";

export const workerArgs = z.object({
  queue: z
    .string()
    .optional()
    .describe("the queue's Redis, redis://HOST:PORT or redis://:PASSWORD@HOST:PORT (default: $TSCOLAB_QUEUE, which keeps a password off the command line)"),
  drive: z.string().optional().describe("this machine's path to the shared Drive the sweeps were started on (default: $TSCOLAB_DRIVE or ./drive)"),
  concurrency: z.number().int().min(1).max(64).optional().describe("trials trained at once, each in its own process (default 1)"),
  stallInterval: z
    .number()
    .positive()
    .optional()
    .describe("seconds a trial's lock lasts unrenewed: a lost worker's trial goes to another worker after two or three of these (default 30; every worker should use the same)"),
  connectTimeout: z.number().positive().optional().describe("seconds to wait for Redis at start before giving up (default 10)"),
  trust: z.boolean().default(false).describe('run model code the scan flags, for trials whose config also says "trust": true'),
  json: z.boolean().default(false).describe("print what the worker did as JSON when it stops"),
});
type WorkerArgs = z.infer<typeof workerArgs>;

export async function runWorkerMagic(args: WorkerArgs, ctx: MagicContext): Promise<WorkerResult> {
  const { runWorker } = await import("../../engine/experiments/queue/worker");
  // The terminal: SIGTERM (what `kill`, Kubernetes and Slurm send) stops the worker as Ctrl-C does; a second one leaves at once.
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  ctx.signal.addEventListener("abort", onAbort);
  let terms = 0;
  const onTerm = () => {
    if (++terms > 1) process.exit(143);
    controller.abort();
  };
  if (!ctx.rich) process.on("SIGTERM", onTerm);
  try {
    return await runWorker({
      queue: args.queue,
      drive: args.drive,
      cwd: ctx.cwd,
      concurrency: args.concurrency,
      stallInterval: args.stallInterval,
      connectTimeout: args.connectTimeout,
      trust: args.trust,
      signal: controller.signal,
      onLog: (line) => ctx.stdout(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
    });
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    process.off("SIGTERM", onTerm);
  }
}

registerMagic({
  name: "worker",
  summary: "Serve sweep trials from a Redis (BullMQ) queue until stopped: run one on every machine that shares the Drive.",
  args: workerArgs,
  examples: [
    "tscolab worker --queue redis://10.0.0.5:6379 --drive /mnt/drive",
    "TSCOLAB_QUEUE=redis://:PASSWORD@10.0.0.5:6379 tscolab worker --drive /mnt/drive --concurrency 2",
    "tscolab sweep --config base.json --grid learningRate=0.001,0.01 --queue redis://10.0.0.5:6379      (puts the trials on the queue)",
  ],
  run: runWorkerMagic,
  render: workerBundle,
});
