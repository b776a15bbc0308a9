// IPython's variable expansion for magic lines: `$name` is replaced by the
// notebook variable, `{expr}` by the value of a TypeScript expression.
// `$$` and `{{`/`}}` are literal `$`, `{`, `}`; nothing inside '...' expands,
// so JSON arguments can be single-quoted.
//
// Strings and numbers are substituted as text (IPython's behaviour, so
// `$flags` may hold several words). Objects (a model, an array) cannot survive
// as text: they are replaced by a reference token that the parser turns back
// into the object itself.
import { UsageError } from "./types";

export type RefTable = Map<string, unknown>;
export type EvalExpression = (expr: string) => Promise<unknown>;

const REF_PREFIX = "\u0000ref";
export const isRef = (word: string) => word.startsWith(REF_PREFIX) && word.endsWith("\u0000");

function findClosingBrace(line: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

export async function expandLine(line: string, variables: Record<string, unknown>, evaluate: EvalExpression, refs: RefTable): Promise<string> {
  const substitute = (value: unknown): string => {
    if (value === null || value === undefined || typeof value === "string" || typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
      return String(value);
    }
    const token = `${REF_PREFIX}${refs.size}\u0000`;
    refs.set(token, value);
    return token;
  };
  let out = "";
  let inSingle = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") inSingle = !inSingle;
    if (inSingle) {
      out += c;
      continue;
    }
    if (c === "$" && line[i + 1] === "$") {
      out += "$";
      i++;
    } else if (c === "$" && /[A-Za-z_]/.test(line[i + 1] ?? "")) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i + 1))![0];
      if (!Object.prototype.hasOwnProperty.call(variables, name)) {
        throw new UsageError(`$${name} is not a notebook variable; define it first (let ${name} = ...) or write $$ for a literal $`);
      }
      out += substitute(variables[name]);
      i += name.length;
    } else if ((c === "{" && line[i + 1] === "{") || (c === "}" && line[i + 1] === "}")) {
      out += c;
      i++;
    } else if (c === "{") {
      const close = findClosingBrace(line, i);
      if (close < 0) throw new UsageError(`unclosed { in magic line; close it or write {{ for a literal brace`);
      const expr = line.slice(i + 1, close);
      let value: unknown;
      try {
        value = await evaluate(expr);
      } catch (e) {
        throw new UsageError(`{${expr}} could not be evaluated: ${(e as Error).message ?? e}`);
      }
      out += substitute(value);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}
