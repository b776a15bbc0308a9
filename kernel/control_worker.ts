// Heartbeat and control channel on their own thread, so that a cell busy in
// synchronous code neither misses heartbeats nor ignores the stop button:
// an interrupt_request is answered here and turned into SIGINT for the
// process, which cuts off synchronous code (vm's breakOnSigint) as well as
// pending awaits (the kernel's SIGINT handler). Other control requests are
// passed to the main thread, and its replies sent back out from here.
//
// Shutdown: on "close" the thread sends what is queued, closes its sockets
// and its port, and ends by itself. It must never be cut off while zeromq
// is still closing sockets (process.exit or terminate() then): zeromq's
// native code throws into a dying thread and the whole process aborts
// ("terminate called after throwing an instance of 'Napi::Error'").
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { SendQueue } from "./send_queue";
import { decode, encode, endpoint, reply, Signer, type ConnectionInfo } from "./wire";

const { info, session } = workerData as { info: ConnectionInfo; session: string };
const signer = new Signer(info.key, info.signature_scheme);

/** How long queued replies (shutdown_reply above all) may take to reach the client once the sockets close. */
const CLOSE_LINGER_MS = 200;

async function main(): Promise<void> {
  const hb = new zmq.Reply({ linger: 0 });
  const control = new zmq.Router({ linger: 0 });
  await hb.bind(endpoint(info, info.hb_port));
  await control.bind(endpoint(info, info.control_port));
  const out = new SendQueue(control);
  let closing = false;
  parentPort!.on("message", (m: { type: string; frames?: Uint8Array[] }) => {
    if (m.type === "send" && m.frames && !closing) void out.send(m.frames.map((f) => Buffer.from(f)));
    if (m.type === "close" && !closing) {
      closing = true;
      void out.drained().then(() => {
        control.linger = CLOSE_LINGER_MS;
        hb.close();
        control.close();
        parentPort!.close(); // nothing left to keep the thread alive: it ends, and the main thread sees "exit"
      });
    }
  });
  parentPort!.postMessage({ type: "ready" });
  const heartbeat = (async () => {
    for await (const frames of hb) await hb.send(frames);
  })().catch(() => {});
  try {
    for await (const frames of control) {
      let msg;
      try {
        msg = decode(frames, signer);
      } catch {
        continue; // unsigned or garbled: ignored, as ipykernel does
      }
      if (msg.header.msg_type === "interrupt_request") {
        void out.send(encode(reply(msg, "interrupt_reply", { status: "ok" }, session), signer));
        process.kill(process.pid, "SIGINT");
      } else {
        parentPort!.postMessage({ type: "control", frames });
      }
    }
  } catch (e) {
    if (!closing) throw e;
  }
  await heartbeat;
}

main().catch((e) => parentPort!.postMessage({ type: "error", message: String(e?.stack ?? e) }));
