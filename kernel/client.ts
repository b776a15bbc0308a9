// A Jupyter client over ZeroMQ, in Node: starts a kernel as its own process
// (or attaches to one), signs and sends requests, and collects the iopub
// messages each request causes until the kernel goes idle for it.
// Used by `tscolab run` and by the end-to-end tests.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import * as zmq from "zeromq";
import { LAUNCHER } from "./package_root";
import { SendQueue } from "./send_queue";
import { decode, encode, endpoint, PROTOCOL_VERSION, Signer, type ConnectionInfo, type Message } from "./wire";

export interface IopubMessage {
  msg_type: string;
  content: Record<string, any>;
}

export interface RequestResult {
  reply: Message;
  /** iopub messages with this request as parent, in order, status messages excluded. */
  outputs: IopubMessage[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function writeConnectionFile(dir = os.tmpdir()): Promise<{ file: string; info: ConnectionInfo }> {
  const ports = new Set<number>();
  while (ports.size < 5) ports.add(await freePort());
  const [shell_port, iopub_port, stdin_port, control_port, hb_port] = [...ports];
  const info: ConnectionInfo = {
    transport: "tcp",
    ip: "127.0.0.1",
    shell_port,
    iopub_port,
    stdin_port,
    control_port,
    hb_port,
    key: randomBytes(16).toString("hex"),
    signature_scheme: "hmac-sha256",
    kernel_name: "tscolab",
  };
  const file = path.join(dir, `tscolab-kernel-${randomUUID()}.json`);
  fs.writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
  return { file, info };
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with every iopub message (for live progress). */
  onIopub?: (msg: Message) => void;
  /** Where the kernel's own stderr goes (default: collected in `stderrText`). */
  stderr?: (text: string) => void;
}

export class KernelClient {
  readonly session = randomUUID();
  private readonly signer: Signer;
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private readonly shellOut = new SendQueue(this.shell);
  private readonly controlOut = new SendQueue(this.control);
  private readonly pending = new Map<string, { outputs: IopubMessage[]; idle: boolean; reply?: Message; done: () => void }>();
  private readonly iopubListeners = new Set<(m: Message) => void>();
  private closed = false;
  child?: ChildProcess;
  exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrText = "";

  private constructor(
    readonly info: ConnectionInfo,
    readonly connectionFile: string,
  ) {
    this.signer = new Signer(info.key, info.signature_scheme);
  }

  /** Starts `tscolab kernel` as a child process and connects to it. */
  static async start(opts: StartOptions = {}): Promise<KernelClient> {
    const { file, info } = await writeConnectionFile();
    const client = new KernelClient(info, file);
    const child = spawn(process.execPath, [LAUNCHER, "kernel", "--connection-file", file], {
      cwd: opts.cwd ?? process.cwd(),
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    client.child = child;
    client.exit = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    const onErr = opts.stderr ?? ((t: string) => (client.stderrText += t));
    child.stderr!.on("data", (d: Buffer) => onErr(d.toString()));
    child.stdout!.on("data", (d: Buffer) => onErr(d.toString()));
    if (opts.onIopub) client.iopubListeners.add(opts.onIopub);
    await client.connect();
    await client.waitReady();
    return client;
  }

  private async connect(): Promise<void> {
    this.shell.connect(endpoint(this.info, this.info.shell_port));
    this.control.connect(endpoint(this.info, this.info.control_port));
    this.iopub.connect(endpoint(this.info, this.info.iopub_port));
    this.iopub.subscribe();
    void this.listen(this.shell);
    void this.listen(this.control);
    void this.listenIopub();
  }

  /** Kernel info round trips until iopub is seen too (PUB/SUB drops early messages). */
  private async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const died = this.exit?.then((e) => {
        throw new Error(`the kernel exited during start-up (code ${e.code}, signal ${e.signal}): ${this.stderrText.trim().slice(-500)}`);
      });
      died?.catch(() => {});
      const attempt = this.request("shell", "kernel_info_request", {}, { waitIdle: true });
      const timeout = new Promise<null>((r) => setTimeout(() => r(null), 1000));
      const got = await Promise.race([attempt.then(() => true), timeout, died ?? new Promise(() => {})]);
      if (got) return;
    }
    throw new Error(`the kernel did not answer within ${timeoutMs / 1000} s`);
  }

  private async listen(sock: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: Message;
        try {
          msg = decode(frames as Buffer[], this.signer);
        } catch {
          continue;
        }
        const p = this.pending.get(String(msg.parent.msg_id));
        if (p) {
          p.reply = msg;
          p.done();
        }
      }
    } catch {
      /* socket closed */
    }
  }

  private async listenIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        let msg: Message;
        try {
          msg = decode(frames as Buffer[], this.signer);
        } catch {
          continue;
        }
        for (const l of this.iopubListeners) l(msg);
        const p = this.pending.get(String(msg.parent.msg_id));
        if (!p) continue;
        if (msg.header.msg_type === "status") {
          if (msg.content.execution_state === "idle") {
            p.idle = true;
            p.done();
          }
        } else {
          p.outputs.push({ msg_type: msg.header.msg_type, content: msg.content });
        }
      }
    } catch {
      /* socket closed */
    }
  }

  /** Sends a request; resolves with its reply and (if waitIdle) every iopub output it caused. */
  request(
    channel: "shell" | "control",
    msgType: string,
    content: Record<string, unknown>,
    opts: { waitIdle?: boolean; onSent?: (msgId: string) => void } = {},
  ): Promise<RequestResult> {
    const waitIdle = opts.waitIdle ?? true;
    const msg: Message = {
      identities: [],
      header: { msg_id: randomUUID(), session: this.session, username: "tscolab", date: new Date().toISOString(), msg_type: msgType, version: PROTOCOL_VERSION },
      parent: {},
      metadata: {},
      content,
      buffers: [],
    };
    return new Promise((resolve) => {
      const entry = {
        outputs: [] as IopubMessage[],
        idle: false,
        reply: undefined as Message | undefined,
        done: () => {
          if (entry.reply && (entry.idle || !waitIdle)) {
            this.pending.delete(msg.header.msg_id);
            resolve({ reply: entry.reply, outputs: entry.outputs });
          }
        },
      };
      this.pending.set(msg.header.msg_id, entry);
      opts.onSent?.(msg.header.msg_id);
      const out = channel === "shell" ? this.shellOut : this.controlOut;
      void out.send(encode(msg, this.signer));
    });
  }

  execute(code: string, extra: Record<string, unknown> = {}, onSent?: (msgId: string) => void): Promise<RequestResult> {
    return this.request(
      "shell",
      "execute_request",
      { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...extra },
      { onSent },
    );
  }

  /** Interrupts the running cell: by SIGINT (kernel.json's interrupt_mode) or by interrupt_request. */
  async interrupt(mode: "signal" | "message" = "signal"): Promise<void> {
    if (mode === "signal") this.child?.kill("SIGINT");
    else await this.request("control", "interrupt_request", {}, { waitIdle: false });
  }

  addIopubListener(fn: (m: Message) => void): () => void {
    this.iopubListeners.add(fn);
    return () => this.iopubListeners.delete(fn);
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const reply = this.request("control", "shutdown_request", { restart: false }, { waitIdle: false });
      const exited = await Promise.race([
        this.exit!.then(() => true),
        reply.then(() => this.exit!.then(() => true)),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!exited) this.child.kill("SIGKILL");
    }
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    fs.rmSync(this.connectionFile, { force: true });
  }
}
