// Magics that belong to the kernel itself rather than to an engine.
import { z } from "zod";
import { registerMagic } from "../magics/registry";
import { UsageError } from "../magics/types";

registerMagic({
  name: "clear_output",
  summary: "Clear this cell's output (IPython.display.clear_output).",
  args: z.object({ wait: z.boolean().default(false).describe("wait until new output arrives before clearing") }),
  async run(args, ctx) {
    if (!ctx.clearOutput) throw new UsageError("%clear_output needs a notebook");
    ctx.clearOutput(args.wait);
    return undefined;
  },
});
