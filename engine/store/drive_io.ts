// Drive I/O for local-first runs, done in a child process (drive_child.ts).
// A hung fs call cannot be cancelled: in this process it would hold one of
// libuv's four threadpool threads for good (and, with a few more, stall every
// file read and write of the trainer and the kernel). In the child it holds
// only the child. Each request is bounded by a watchdog that every returned
// call in the child re-arms; when it fires, the child is killed, the request
// fails with ETIMEDOUT, and until the killed child is gone (a process stuck in
// a FUSE call dies only when the call returns) requests fail at once with
// EHUNG instead of starting another child that would hang the same way.
// The child and its pipe never keep this process alive; a request in flight
// does, through its watchdog timer.
import { fork, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import os from "node:os";
import type { ChildError, Message, Request, Side } from "./drive_child";
import { compiledScript } from "../util/compiled_script";
import { envSecondsMs } from "../util/env_seconds";

const DEFAULT_DRIVE_TIMEOUT_S = 30;

/** How long one Drive call may take before it counts as hung: $TSCOLAB_DRIVE_TIMEOUT seconds, default 30. */
export function driveCallTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return envSecondsMs(env, "TSCOLAB_DRIVE_TIMEOUT", DEFAULT_DRIVE_TIMEOUT_S);
}

export class DriveIOError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly side: Side = "drive",
  ) {
    super(message);
  }

  /** The Drive did not answer in time (or an earlier call still hangs). */
  get hung(): boolean {
    return this.code === "ETIMEDOUT" || this.code === "EHUNG";
  }
}

function childScript(): string {
  const script = compiledScript(__dirname, "engine/store/drive_child.js");
  if (!script) throw new Error(`cannot find drive_child.js next to ${__filename} or in dist/; build with \`npm run build\``);
  return script;
}

const clock = (d: Date) => d.toTimeString().slice(0, 8);

function describe(req: Request): string {
  switch (req.op) {
    case "putFile":
    case "putFolder":
      return `copying to ${req.dest}`;
    case "pullFile":
    case "pullFolder":
      return `reading ${req.src}`;
    case "remove":
      return `removing ${req.dirs.length} old folder(s)`;
    case "inspect":
      return `reading ${req.runDir}`;
    case "ensureRun":
      return `creating ${req.runDir}`;
    default:
      return `reading ${req.driveRoot}`;
  }
}

export class DriveIO {
  private child: ChildProcess | null = null;
  private stderr = "";
  /** A child killed during a hung call that has not exited yet. */
  private stuck: { since: Date; what: string } | null = null;
  private nextId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Called when a killed child that hung has finally exited. */
  onUnstuck?: () => void;

  constructor(readonly timeoutMs = driveCallTimeoutMs()) {}

  /** Runs one request in the child; requests run one at a time, in order. */
  call<T>(req: Request): Promise<T> {
    const run = this.chain.then(() => this.send<T>(req));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** True while a killed child still sits in a hung call. */
  get hung(): boolean {
    return this.stuck !== null;
  }

  private spawn(): ChildProcess {
    const child = fork(childScript(), [], { execArgv: [], stdio: ["ignore", "ignore", "pipe", "ipc"], serialization: "json" });
    this.stderr = "";
    child.stderr!.on("data", (d) => (this.stderr = (this.stderr + d).slice(-2000)));
    (child.stderr as Socket).unref();
    child.unref();
    child.channel?.unref();
    // Copying and hashing yield the CPU to training.
    try {
      os.setPriority(child.pid!, 10);
    } catch {
      // Not allowed here: it runs at the trainer's priority.
    }
    child.on("exit", () => {
      if (this.child === child) this.child = null;
    });
    // A send to a child that just died fails with EPIPE as an 'error' event; the request fails through send's callback.
    child.on("error", () => undefined);
    return child;
  }

  private send<T>(req: Request): Promise<T> {
    if (this.closed) return Promise.reject(new DriveIOError("ECLOSED", "the Drive mirror is closed"));
    if (this.stuck)
      return Promise.reject(new DriveIOError("EHUNG", `a Drive call (${this.stuck.what}) has not returned since ${clock(this.stuck.since)}; the Drive is not answering`));
    const child = (this.child ??= this.spawn());
    const id = this.nextId++;
    const started = new Date();
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(onHang, this.timeoutMs);
      };
      const done = () => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      const onMessage = (m: Message) => {
        if (m.id !== id) return;
        if ("alive" in m) return arm();
        done();
        if (m.ok) resolve(m.result as T);
        else reject(new DriveIOError(m.error.code, m.error.message, m.error.side));
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(
          new DriveIOError("ECHILD", `the Drive I/O process ended (${signal ?? `exit ${code}`}) ${describe(req)}${this.stderr ? `: ${this.stderr.trim().split("\n").pop()}` : ""}`),
        );
      };
      const onHang = () => {
        done();
        const what = describe(req);
        this.stuck = { since: started, what };
        this.child = null;
        child.once("exit", () => {
          this.stuck = null;
          this.onUnstuck?.();
        });
        child.kill("SIGKILL");
        reject(new DriveIOError("ETIMEDOUT", `a Drive call did not return within ${Math.round(this.timeoutMs / 100) / 10} s (${what})`));
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      arm();
      child.send({ id, ...req }, (err) => {
        if (!err) return;
        done();
        if (this.child === child) this.child = null;
        reject(new DriveIOError("ECHILD", `the Drive I/O process is gone (${err.message}) ${describe(req)}`));
      });
    });
  }

  /** Stops the child (a hung one is left to die when its call returns; it never holds this process). */
  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      child.disconnect?.();
      child.kill("SIGKILL");
    }
  }
}

export type { ChildError };
