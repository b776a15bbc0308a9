// One way to run git for the model cache: simple-git with terminal prompts
// switched off, so an unknown or private https repository fails instead of
// waiting for a password a notebook can never type. simple-git's own guards
// stay on (no `ext::` transport, no askpass/ssh-command/editor overrides).
import { simpleGit, type SimpleGit } from "simple-git";
import { TscolabError } from "../errors";
import { groupLauncher } from "./process_group";

// Variables simple-git refuses to pass through, and GIT_DIR / GIT_INDEX_FILE /
// ... inherited from a hook or test runner, which would point these commands
// at some other repository.
const GUARDED = /^(git_.*|ssh_askpass|editor|visual|pager|prefix)$/i;

/** `signal` kills the git process (the notebook's stop button during a long clone). */
export function git(baseDir: string, extraEnv: Record<string, string> = {}, signal?: AbortSignal): SimpleGit {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !GUARDED.test(k)) env[k] = v;
  const own = { GIT_TERMINAL_PROMPT: "0", ...extraEnv };
  // Interruptible commands (clone, fetch) run in their own process group; see process_group.ts.
  const binary = signal ? groupLauncher() : null;
  return simpleGit({ baseDir, allowEnvironment: Object.keys(own), ...(signal ? { abort: signal } : {}), ...(binary ? { binary } : {}) }).env({ ...env, ...own });
}

/** git's own explanation, without simple-git's wrapping: the last "fatal:"/"error:" line, else the first line. */
export function gitReason(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  if (/spawn git ENOENT/.test(text)) return "git is not installed on this machine (Debian: apt-get install git)";
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.filter((l) => /^(fatal|error):/i.test(l)).pop();
  return (fatal ?? lines[0] ?? "git failed").replace(/^(fatal|error):\s*/i, "");
}

/** The error for a git transfer stopped by the user. */
export function interrupted(what: string): TscolabError {
  return new TscolabError(`interrupted while ${what}`, "run it again; the cache keeps only complete clones and checkouts");
}
