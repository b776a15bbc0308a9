// The benches' command lines: `--rounds 5`, `--rounds=5`, `--json` → { rounds: "5", json: true },
// kebab-case flags to camelCase keys, then parsed (and defaulted) by the bench's zod schema.
import type { z } from "zod";

export function parseFlags<S extends z.ZodType>(argv: string[], schema: S, usage: string): z.infer<S> {
  const raw: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument '${argv[i]}' (flags: ${usage})`);
    const key = m[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (m[2] !== undefined) raw[key] = m[2];
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) raw[key] = argv[++i];
    else raw[key] = true;
  }
  return schema.parse(raw);
}
