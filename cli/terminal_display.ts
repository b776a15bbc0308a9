// Displays for the CLI: a TTY gets one block redrawn in place (like a
// progress bar); a pipe or log file gets plain lines, at most one update
// every two seconds, so logs stay readable.
import type { DisplayHandle, MimeBundle } from "../magics/types";

const UPDATE_INTERVAL_MS = 2000;

export class TerminalDisplay {
  constructor(private readonly out: NodeJS.WriteStream) {}

  show(bundle: MimeBundle): DisplayHandle {
    const tty = Boolean(this.out.isTTY);
    let shownLines = 0;
    let lastPrint = 0;
    let lastText = "";
    const write = (text: string) => {
      lastText = text;
      const body = text.endsWith("\n") ? text : text + "\n";
      if (tty && shownLines > 0) this.out.write(`\x1b[${shownLines}F\x1b[J`); // up N lines, clear below
      this.out.write(body);
      shownLines = body.split("\n").length - 1;
      lastPrint = Date.now();
    };
    write(String(bundle["text/plain"]));
    return {
      update: (next: MimeBundle) => {
        const text = String(next["text/plain"]);
        if (text !== lastText && (tty || Date.now() - lastPrint >= UPDATE_INTERVAL_MS)) write(text);
      },
    };
  }
}
