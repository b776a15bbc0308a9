// zeromq.js rejects a send while the previous one is still in flight
// ("Socket is busy writing"); this queues sends so callers need not await.
//
// Frames go out as strings where they can. zeromq.js sends a Buffer of more
// than 128 bytes without copying and, once ZeroMQ's I/O thread is done with
// it, hands it back to the thread that sent it. A message still queued when
// that thread ends (the control thread's shutdown_reply, lingering after its
// socket closed) is then handed back to a thread that no longer exists, and
// the process dies with a corrupted heap. A string is copied into the message
// and freed by ZeroMQ itself. Jupyter's frames are UTF-8 text (identities are
// short, and copied anyway); a binary frame stays a Buffer.
import { isUtf8 } from "node:buffer";
import type * as zmq from "zeromq";

/** zeromq.js copies frames up to this size; larger Buffers are lent. */
const ZERO_COPY_ABOVE = 128;

const toWire = (frame: Buffer): Buffer | string => (frame.length > ZERO_COPY_ABOVE && isUtf8(frame) ? frame.toString("utf8") : frame);

export class SendQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: zmq.Writable) {}

  send(frames: Buffer[]): Promise<void> {
    const wire = frames.map(toWire);
    this.tail = this.tail.then(() => this.socket.send(wire)).catch(() => {});
    return this.tail;
  }

  /** Resolves once every send queued so far has been handed to the socket. */
  drained(): Promise<void> {
    return this.tail;
  }
}
