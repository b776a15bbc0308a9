// zeromq.js rejects a send while the previous one is still in flight
// ("Socket is busy writing"); this queues sends so callers need not await.
import type * as zmq from "zeromq";

export class SendQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: zmq.Writable) {}

  send(frames: Buffer[]): Promise<void> {
    this.tail = this.tail.then(() => this.socket.send(frames)).catch(() => {});
    return this.tail;
  }

  /** Resolves once every send queued so far has been handed to the socket. */
  drained(): Promise<void> {
    return this.tail;
  }
}
