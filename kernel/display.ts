// Turning values into Jupyter MIME bundles, and the sink that outputs go to.
import { inspect } from "node:util";
import type { MimeBundle } from "../magics/types";

/** Objects may render themselves richly by defining this method (like IPython's _repr_mimebundle_). */
export const MIME_BUNDLE = Symbol.for("tscolab.mimeBundle");

interface TensorLike {
  shape: number[];
  dtype: string;
  dataSync(): unknown;
  toString(verbose?: boolean): string;
}

const isTensor = (v: unknown): v is TensorLike =>
  typeof v === "object" && v !== null && Array.isArray((v as TensorLike).shape) && typeof (v as TensorLike).dtype === "string" && typeof (v as TensorLike).dataSync === "function";

export function toMimeBundle(value: unknown): MimeBundle {
  if (value && typeof value === "object" && typeof (value as Record<symbol, unknown>)[MIME_BUNDLE] === "function") {
    return (value as { [MIME_BUNDLE](): MimeBundle })[MIME_BUNDLE]();
  }
  if (isTensor(value)) return { "text/plain": value.toString() };
  return { "text/plain": inspect(value, { depth: 4, colors: false, maxArrayLength: 100, breakLength: 100 }) };
}

/** Everything a cell can emit, bound to the request that runs it. */
export interface OutputSink {
  stream(name: "stdout" | "stderr", text: string): void;
  display(bundle: MimeBundle, displayId?: string, update?: boolean): void;
  result(bundle: MimeBundle, executionCount: number): void;
  error(ename: string, evalue: string, traceback: string[]): void;
  clearOutput(wait: boolean): void;
}
