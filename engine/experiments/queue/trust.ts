// What a worker agrees to run. A queued trial's model code is not the worker
// operator's own, so it passes the same scan as fetched git code: a git model
// is scanned by train() as always; a model file is scanned here, with every
// local file it loads. Code the scan flags runs only when the trial's config
// says `"trust": true` (what --trust sets when the sweep is made) AND the worker
// was started with --trust: the person who submits and the person whose
// machine runs it both agree.
import fs from "node:fs";
import path from "node:path";
import { TscolabError } from "../../errors";
import { refusal, scanModelTree } from "../../git";
import { isPlainObject } from "../dotted";

export function checkTrialCode(config: unknown, opts: { cwd: string; workerTrust: boolean; label: string; resuming: boolean }): void {
  const model = isPlainObject(config) && isPlainObject(config.model) ? config.model : {};
  const asksTrust = model.trust === true;
  if (asksTrust && !opts.workerTrust)
    throw new TscolabError(
      `${opts.label} asks to run model code despite what the scan finds ("trust": true), and this worker was not started with --trust`,
      'read that code and start the worker with --trust, or take "trust" out of the sweep\'s model config',
    );
  if (typeof model.file !== "string") return; // zoo models are ours; git models are scanned by train()
  const file = path.resolve(opts.cwd, model.file);
  if (!fs.existsSync(file)) {
    // A resumed run loads its model from the checkpoint, not from the file.
    if (opts.resuming) return;
    throw new TscolabError(
      `${opts.label}: model file ${file} does not exist on this machine`,
      "put the model file on the shared Drive (or the same path on every worker) and give its path in the config",
    );
  }
  const scan = scanModelTree(file, path.dirname(file));
  if (scan.findings.length && !(asksTrust && opts.workerTrust)) {
    const refused = refusal(scan.findings, `model file ${model.file} of ${opts.label}`);
    throw new TscolabError(
      refused.message.replace(/ \(fix: .*\)$/, ""),
      'read that code; if you trust it, set "trust": true in the sweep\'s model config and start the worker with --trust',
    );
  }
}
