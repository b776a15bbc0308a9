// The tscolab Jupyter kernel: sockets, message dispatch and the iopub side of
// each request (status busy/idle, execute_input, streams, results, errors).
// Heartbeat and control live on a worker thread (./control_worker.ts).
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import * as zmq from "zeromq";
import "../magics";
import "./builtin_magics";
import type { MimeBundle } from "../magics/types";
import { toMimeBundle, type OutputSink } from "./display";
import { CellExecutor } from "./execute";
import { History, historyRequest } from "./history";
import { complete, inspect, isComplete } from "./introspect";
import { SendQueue } from "./send_queue";
import { StreamCapture } from "./stream_capture";
import { TsRunner } from "./ts_runner";
import { kernelInfo } from "./kernel_info";
import { connectionInfo, decode, encode, endpoint, reply, Signer, type ConnectionInfo, type Message } from "./wire";

const tslabJupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: unknown };

type Channel = (frames: Buffer[]) => void;

/** How long the last iopub messages (the final idle status) may take to reach the client once the sockets close. */
const CLOSE_LINGER_MS = 200;
/** The control thread normally ends within milliseconds of being asked. */
const WORKER_CLOSE_TIMEOUT_MS = 5_000;

export class Kernel {
  private readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly shell = new zmq.Router({ linger: 0 });
  private readonly iopub = new zmq.Publisher({ linger: 0 });
  private readonly stdin = new zmq.Router({ linger: 0 });
  private readonly iopubOut = new SendQueue(this.iopub);
  private readonly shellOut = new SendQueue(this.shell);
  private worker?: Worker;
  private readonly ts: TsRunner;
  private readonly cells: CellExecutor;
  private readonly history = new History();
  private readonly streams: StreamCapture;
  private executionCount = 0;
  private queue: Promise<void> = Promise.resolve();
  private arrivals = 0;
  private abortThrough = 0; // executes that arrived before a failed cell's end are aborted
  private closing = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly cwd: string,
  ) {
    this.signer = new Signer(info.key, info.signature_scheme);
    this.ts = new TsRunner(cwd);
    this.cells = new CellExecutor(this.ts, cwd);
    this.streams = new StreamCapture((parent, name, text) => this.publish(parent, "stream", { name, text }));
  }

  async start(): Promise<void> {
    await this.shell.bind(endpoint(this.info, this.info.shell_port));
    await this.iopub.bind(endpoint(this.info, this.info.iopub_port));
    await this.stdin.bind(endpoint(this.info, this.info.stdin_port));
    await this.startControlWorker();
    this.streams.install();
    process.on("SIGINT", () => this.cells.interrupt());
    process.on("SIGTERM", () => void this.shutdown(0, "stopped: the kernel was terminated"));
    // Errors escaping a cell's async work (a timer, a forgotten promise) must not kill the kernel;
    // they are shown on stderr of the cell that runs (or ran) last, as ipykernel does.
    const report = (what: string) => (e: unknown) => {
      const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      process.stderr.write(`${what}: ${text}\n`);
      this.streams.writeOriginalStderr(`tscolab: ${what}: ${(e as Error)?.stack ?? e}\n`);
    };
    process.on("uncaughtException", report("Uncaught exception"));
    process.on("unhandledRejection", report("Unhandled promise rejection"));
    this.ts.warmUp();
    this.publish(undefined, "status", { execution_state: "starting" });
    void this.serve();
  }

  private async startControlWorker(): Promise<void> {
    const worker = new Worker(path.join(__dirname, "control_worker.js"), { workerData: { info: this.info, session: this.session } });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      worker.on("message", (m: { type: string; frames?: Uint8Array[]; message?: string }) => {
        if (m.type === "ready") resolve();
        else if (m.type === "error") reject(new Error(m.message));
        else if (m.type === "control" && m.frames) {
          const send: Channel = (frames) => worker.postMessage({ type: "send", frames });
          void this.handle(
            m.frames.map((f) => Buffer.from(f)),
            send,
          );
        }
      });
      worker.on("error", reject);
    });
    worker.unref();
  }

  private async serve(): Promise<void> {
    const send: Channel = (frames) => void this.shellOut.send(frames);
    try {
      for await (const frames of this.shell) {
        void this.handle(frames as Buffer[], send);
      }
    } catch (e) {
      if (!this.closing) throw e; // closing the socket at shutdown ends the loop
    }
  }

  private publish(parent: Message | undefined, msgType: string, content: unknown): void {
    if (msgType !== "stream") this.streams.flush();
    void this.iopubOut.send(encode(reply(parent, msgType, content, this.session, [Buffer.from(msgType)]), this.signer));
  }

  private answer(parent: Message, send: Channel, msgType: string, content: unknown): void {
    send(encode(reply(parent, msgType, content, this.session), this.signer));
  }

  private async handle(frames: Buffer[], send: Channel): Promise<void> {
    let msg: Message;
    try {
      msg = decode(frames, this.signer);
    } catch (e) {
      this.streams.writeOriginalStderr(`tscolab: dropped a message: ${(e as Error).message}\n`);
      return;
    }
    const type = msg.header.msg_type;
    if (type === "execute_request") {
      const seq = ++this.arrivals;
      this.queue = this.queue.then(() => this.execute(msg, send, seq));
      return;
    }
    this.publish(msg, "status", { execution_state: "busy" });
    try {
      const c = msg.content;
      switch (type) {
        case "kernel_info_request":
          this.answer(msg, send, "kernel_info_reply", kernelInfo());
          break;
        case "complete_request":
          this.answer(msg, send, "complete_reply", await complete(this.ts, c.code, c.cursor_pos ?? c.code.length, { cwd: this.cwd }));
          break;
        case "inspect_request":
          this.answer(msg, send, "inspect_reply", inspect(this.ts, c.code, c.cursor_pos ?? c.code.length));
          break;
        case "is_complete_request":
          this.answer(msg, send, "is_complete_reply", isComplete(this.ts, c.code));
          break;
        case "history_request":
          this.answer(msg, send, "history_reply", { status: "ok", history: this.history.query(historyRequest.parse(c)) });
          break;
        case "comm_info_request":
          this.answer(msg, send, "comm_info_reply", { status: "ok", comms: {} });
          break;
        case "comm_open":
          // No comm targets are registered: close it, as ipykernel does.
          this.publish(msg, "comm_close", { comm_id: c.comm_id, data: {} });
          break;
        case "comm_msg":
        case "comm_close":
          break;
        case "interrupt_request":
          this.answer(msg, send, "interrupt_reply", { status: "ok" });
          this.cells.interrupt();
          break;
        case "shutdown_request":
          this.answer(msg, send, "shutdown_reply", { status: "ok", restart: Boolean(c.restart) });
          setImmediate(() => void this.shutdown(0, c.restart ? "stopped: the kernel restarted" : "stopped: the kernel shut down")); // after the idle status below is queued
          break;
        default:
          this.streams.writeOriginalStderr(`tscolab: unsupported message type ${type}\n`);
      }
    } catch (e) {
      const err = e as Error;
      this.answer(msg, send, type.replace(/_request$/, "_reply"), { status: "error", ename: err.name, evalue: err.message, traceback: [String(err.stack)] });
    } finally {
      this.publish(msg, "status", { execution_state: "idle" });
    }
  }

  private sinkFor(msg: Message, silent: boolean): OutputSink {
    return {
      stream: (name, text) => !silent && this.publish(msg, "stream", { name, text }),
      display: (bundle: MimeBundle, displayId?: string, update?: boolean) => {
        if (silent) return;
        const transient = displayId ? { display_id: displayId } : {};
        this.publish(msg, update ? "update_display_data" : "display_data", { data: bundle, metadata: {}, transient });
      },
      result: (bundle, count) => {
        if (silent) return;
        this.history.setOutput(count, String(bundle["text/plain"]));
        this.publish(msg, "execute_result", { execution_count: count, data: bundle, metadata: {} });
      },
      error: (ename, evalue, traceback) => this.publish(msg, "error", { ename, evalue, traceback }),
      clearOutput: (wait) => !silent && this.publish(msg, "clear_output", { wait }),
    };
  }

  private async execute(msg: Message, send: Channel, seq: number): Promise<void> {
    const c = msg.content as { code: string; silent?: boolean; store_history?: boolean; user_expressions?: Record<string, string>; stop_on_error?: boolean };
    const silent = Boolean(c.silent);
    const storeHistory = silent ? false : c.store_history !== false;
    this.publish(msg, "status", { execution_state: "busy" });
    try {
      if (seq <= this.abortThrough) {
        this.answer(msg, send, "execute_reply", { status: "aborted", execution_count: this.executionCount });
        return;
      }
      if (storeHistory) this.executionCount++;
      const count = this.executionCount;
      if (!silent) this.publish(msg, "execute_input", { code: c.code, execution_count: count });
      if (storeHistory) this.history.add(count, c.code);
      const sink = this.sinkFor(msg, silent);
      this.streams.setTarget(silent ? undefined : msg);
      tslabJupyter.lastWriteDisplayData = (data: { data: MimeBundle }, update: boolean) =>
        sink.display(data.data, (data as { transient?: { display_id?: string } }).transient?.display_id, update);
      const outcome = await this.cells.run(c.code, count, sink);
      this.streams.flush();
      if (outcome.status === "ok") {
        const userExpressions = await this.userExpressions(c.user_expressions ?? {});
        this.answer(msg, send, "execute_reply", { status: "ok", execution_count: count, user_expressions: userExpressions, payload: outcome.payload });
      } else {
        if (c.stop_on_error !== false) this.abortThrough = this.arrivals;
        const { ename, evalue, traceback } = outcome.error!;
        this.answer(msg, send, "execute_reply", { status: "error", execution_count: count, ename, evalue, traceback, user_expressions: {}, payload: [] });
      }
    } finally {
      this.publish(msg, "status", { execution_state: "idle" });
    }
  }

  private async userExpressions(exprs: Record<string, string>): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, expr] of Object.entries(exprs)) {
      try {
        out[name] = { status: "ok", data: toMimeBundle(await this.ts.evaluate(expr)), metadata: {} };
      } catch (e) {
        out[name] = { status: "error", ename: "Error", evalue: (e as Error).message, traceback: [] };
      }
    }
    return out;
  }

  /**
   * Ends the kernel cleanly: the replies and statuses already queued go out,
   * the control thread closes its sockets and ends by itself (waited for:
   * cutting it off while zeromq closes sockets aborts the process), then this
   * thread's sockets close and the process exits.
   */
  async shutdown(code: number, reason = "stopped: the kernel shut down"): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.cells.endLiveDisplays(reason);
    this.streams.flush();
    await Promise.all([this.iopubOut.drained(), this.shellOut.drained()]);
    const worker = this.worker;
    if (worker) {
      const ended = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      worker.postMessage({ type: "close" });
      await Promise.race([ended, new Promise((r) => setTimeout(r, WORKER_CLOSE_TIMEOUT_MS))]);
    }
    for (const socket of [this.shell, this.iopub, this.stdin]) {
      socket.linger = CLOSE_LINGER_MS;
      socket.close();
    }
    this.ts.close();
    process.exit(code);
  }
}

export async function startKernel(connectionFile: string, cwd = process.cwd()): Promise<Kernel> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(connectionFile, "utf8"));
  } catch (e) {
    throw new Error(`cannot read the connection file ${connectionFile}: ${(e as Error).message}`);
  }
  const kernel = new Kernel(connectionInfo.parse(raw), cwd);
  await kernel.start();
  return kernel;
}
