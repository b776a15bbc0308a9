// `tscolab install`: writes the kernelspec (kernel.json and logos) itself, so
// no Python is needed. Locations follow jupyter_client's conventions.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { TscolabError } from "../magics/types";
import { DISPLAY_NAME, KERNEL_NAME } from "./kernel_info";
import { LAUNCHER, PACKAGE_ROOT } from "./package_root";

export const installArgs = z
  .object({
    user: z.boolean().default(false).describe("install for this user (~/.local/share/jupyter)"),
    sysPrefix: z.boolean().default(false).describe("install into the active environment ($VIRTUAL_ENV / $CONDA_PREFIX, else /usr/local)"),
    prefix: z.string().optional().describe("install into DIR/share/jupyter/kernels/<name>"),
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'")
      .default(KERNEL_NAME)
      .describe("kernel name"),
    displayName: z.string().min(1).default(DISPLAY_NAME).describe("name shown in Jupyter's kernel menu"),
  })
  .refine((a) => [a.user, a.sysPrefix, a.prefix !== undefined].filter(Boolean).length <= 1, { message: "choose at most one of --user, --sys-prefix, --prefix", path: ["user"] });
export type InstallArgs = z.infer<typeof installArgs>;

export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? os.homedir(), "jupyter");
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"), "jupyter");
}

export function kernelsDir(args: InstallArgs): string {
  if (args.prefix !== undefined) return path.join(path.resolve(args.prefix), "share", "jupyter", "kernels");
  if (args.sysPrefix) return path.join(process.env.VIRTUAL_ENV ?? process.env.CONDA_PREFIX ?? "/usr/local", "share", "jupyter", "kernels");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (args.user || !isRoot) return path.join(userDataDir(), "kernels");
  return "/usr/local/share/jupyter/kernels";
}

/** kernel.json content: this Node and this package's launcher, absolute paths. */
export function kernelSpec(displayName: string) {
  return {
    argv: [process.execPath, LAUNCHER, "kernel", "--connection-file", "{connection_file}"],
    display_name: displayName,
    language: "typescript",
    interrupt_mode: "signal",
    env: {},
    metadata: { debugger: false },
  };
}

export function installKernel(args: InstallArgs): { dir: string; kernelJson: string } {
  const dir = path.join(kernelsDir(args), args.name);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(kernelSpec(args.displayName), null, 2) + "\n");
    const logos = path.join(PACKAGE_ROOT, "kernel", "logo");
    for (const f of ["logo-32x32.png", "logo-64x64.png"]) fs.copyFileSync(path.join(logos, f), path.join(dir, f));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TscolabError(`cannot write the kernelspec to ${dir}: ${err.code ?? err.message}`, "use --user, or --prefix DIR for a folder you can write");
  }
  return { dir, kernelJson: path.join(dir, "kernel.json") };
}
