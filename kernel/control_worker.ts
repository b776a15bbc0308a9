// Heartbeat and control channel on their own thread, so that a cell busy in
// synchronous code neither misses heartbeats nor ignores the stop button:
// an interrupt_request is answered here and turned into SIGINT for the
// process, which cuts off synchronous code (vm's breakOnSigint) as well as
// pending awaits (the kernel's SIGINT handler). Other control requests are
// passed to the main thread, and its replies sent back out from here.
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { SendQueue } from "./send_queue";
import { decode, encode, endpoint, reply, Signer, type ConnectionInfo } from "./wire";

const { info, session } = workerData as { info: ConnectionInfo; session: string };
const signer = new Signer(info.key, info.signature_scheme);

async function main(): Promise<void> {
  const hb = new zmq.Reply({ linger: 0 });
  const control = new zmq.Router({ linger: 0 });
  await hb.bind(endpoint(info, info.hb_port));
  await control.bind(endpoint(info, info.control_port));
  const out = new SendQueue(control);
  parentPort!.on("message", (m: { type: string; frames?: Uint8Array[] }) => {
    if (m.type === "send" && m.frames) out.send(m.frames.map((f) => Buffer.from(f)));
    if (m.type === "close") {
      hb.close();
      control.close();
    }
  });
  parentPort!.postMessage({ type: "ready" });
  void (async () => {
    for await (const frames of hb) await hb.send(frames);
  })().catch(() => {});
  for await (const frames of control) {
    let msg;
    try {
      msg = decode(frames, signer);
    } catch {
      continue; // unsigned or garbled: ignored, as ipykernel does
    }
    if (msg.header.msg_type === "interrupt_request") {
      out.send(encode(reply(msg, "interrupt_reply", { status: "ok" }, session), signer));
      process.kill(process.pid, "SIGINT");
    } else {
      parentPort!.postMessage({ type: "control", frames });
    }
  }
}

main().catch((e) => parentPort!.postMessage({ type: "error", message: String(e?.stack ?? e) }));
