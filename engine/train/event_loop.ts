// Training steps are synchronous tfjs work; between them the loop must let
// Node's event loop run, or SIGINT handlers and the kernel's interrupt (which
// abort the run's AbortSignal) would only be seen after the whole run.
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
