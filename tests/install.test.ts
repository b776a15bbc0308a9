// `tscolab install` writes a kernelspec Jupyter finds, without Python.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { requirePython } from "./helpers/jupyter";

const LAUNCHER = path.resolve(__dirname, "..", "bin", "tscolab.js");
const python = requirePython(["jupyter_client"], "listing the installed kernelspec");
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [LAUNCHER, ...args], { encoding: "utf8", env });

describe("tscolab install", () => {
  it("writes kernel.json and logos under --prefix DIR/share/jupyter/kernels/<name>", () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-prefix-"));
    const res = cli(["install", "--prefix", prefix, "--name", "tsc-test", "--display-name", "TS test"]);
    expect(res.status, res.stderr).toBe(0);
    const dir = path.join(prefix, "share", "jupyter", "kernels", "tsc-test");
    const spec = JSON.parse(fs.readFileSync(path.join(dir, "kernel.json"), "utf8"));
    expect(spec).toMatchObject({ display_name: "TS test", language: "typescript", interrupt_mode: "signal" });
    expect(spec.argv).toEqual([process.execPath, LAUNCHER, "kernel", "--connection-file", "{connection_file}"]);
    for (const logo of ["logo-32x32.png", "logo-64x64.png"]) {
      expect(fs.readFileSync(path.join(dir, logo)).subarray(1, 4).toString()).toBe("PNG");
    }
  });

  it.skipIf(!python)("jupyter_client's KernelSpecManager finds the installed kernelspec", () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-prefix-"));
    const res = cli(["install", "--prefix", prefix, "--name", "tsc-test", "--display-name", "TS test"]);
    expect(res.status, res.stderr).toBe(0);
    const listed = spawnSync(python!, ["-c", "import jupyter_client.kernelspec as k, json; print(json.dumps(k.KernelSpecManager().get_all_specs()))"], {
      encoding: "utf8",
      env: { ...process.env, JUPYTER_PATH: path.join(prefix, "share", "jupyter") },
    });
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)["tsc-test"].spec.display_name).toBe("TS test");
  });

  it("installs for the user by default when not root, and under JUPYTER_DATA_DIR with --user", () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-data-"));
    const res = cli(["install", "--user"], { ...process.env, JUPYTER_DATA_DIR: data });
    expect(res.status, res.stderr).toBe(0);
    expect(fs.existsSync(path.join(data, "kernels", "tscolab", "kernel.json"))).toBe(true);
  });

  it("refuses conflicting locations and bad names in one line", () => {
    const both = cli(["install", "--user", "--prefix", "/tmp/x"]);
    expect(both.status).toBe(2);
    expect(both.stderr.trim()).toBe("UsageError: --user: choose at most one of --user, --sys-prefix, --prefix");
    const name = cli(["install", "--prefix", "/tmp/x", "--name", "bad name"]);
    expect(name.stderr.trim()).toMatch(/^UsageError: --name: /);
  });
});

describe("tscolab CLI", () => {
  it("lists its commands, and errors on an unknown one", () => {
    const help = cli(["--help"]);
    expect(help.status).toBe(0);
    for (const c of ["kernel", "install", "verify-env", "train", "export", "drive", "run", "start"]) expect(help.stdout).toContain(`  ${c}`);
    const bad = cli(["trian"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "trian"/);
  });

  it("prints a magic's help, generated from its schema, for `tscolab <cmd> --help`", () => {
    const res = cli(["train", "--help"]);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^tscolab train /);
    expect(res.stdout).toMatch(/--batch-size N/);
  });
});
