// Probe children report progress as JSON lines behind a marker on stdout,
// among whatever the libraries they load print; this reads those messages.
import type { Readable } from "node:stream";

/** Calls `onMessage` with each `MARK{json}` line `stream` prints; other lines and unparsable JSON are skipped. */
export function onMarkedLines(stream: Readable, mark: string, onMessage: (msg: Record<string, unknown>) => void): void {
  let pending = "";
  stream.on("data", (d: Buffer) => {
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith(mark)) continue;
      try {
        onMessage(JSON.parse(line.slice(mark.length)));
      } catch {
        /* a library printed something that looks like our mark: ignore it */
      }
    }
  });
}
