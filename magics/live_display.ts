// One rich display updated in place as progress arrives: at most every
// `everyMs`, and once more at the end with the final state, so a fast stream
// of events does not flood the front end with display updates.
import type { DisplayHandle, MagicContext, MimeBundle } from "./types";

export interface LiveDisplay<P> {
  show(progress: P): void;
  /** Shows the latest progress now, if it has not been shown. */
  finish(): void;
}

export function liveDisplay<P>(ctx: MagicContext, render: (progress: P) => MimeBundle, everyMs = 250): LiveDisplay<P> {
  let handle: DisplayHandle | undefined;
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest: P | undefined;
  let shown: P | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (latest === undefined || latest === shown) return;
    shown = latest;
    last = Date.now();
    const bundle = render(latest);
    if (!handle) handle = ctx.display(bundle);
    else handle.update(bundle);
  };
  return {
    show: (p) => {
      latest = p;
      if (!handle || Date.now() - last >= everyMs) flush();
      else timer ??= setTimeout(flush, everyMs - (Date.now() - last));
    },
    finish: flush,
  };
}
