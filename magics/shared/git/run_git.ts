// One way to run git for the model cache: simple-git with terminal prompts
// switched off, so an unknown or private https repository fails instead of
// waiting for a password a notebook can never type. simple-git's own guards
// stay on (no `ext::` transport, no askpass/ssh-command/editor overrides).
import { simpleGit, type SimpleGit } from "simple-git";

// Variables simple-git refuses to pass through, and GIT_DIR / GIT_INDEX_FILE /
// ... inherited from a hook or test runner, which would point these commands
// at some other repository.
const GUARDED = /^(git_.*|ssh_askpass|editor|visual|pager|prefix)$/i;

export function git(baseDir: string, extraEnv: Record<string, string> = {}): SimpleGit {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !GUARDED.test(k)) env[k] = v;
  const own = { GIT_TERMINAL_PROMPT: "0", ...extraEnv };
  return simpleGit({ baseDir, allowEnvironment: Object.keys(own) }).env({ ...env, ...own });
}

/** git's own explanation, without simple-git's wrapping: the last "fatal:"/"error:" line, else the first line. */
export function gitReason(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const fatal = lines.filter((l) => /^(fatal|error):/i.test(l)).pop();
  return (fatal ?? lines[0] ?? "git failed").replace(/^(fatal|error):\s*/i, "");
}
