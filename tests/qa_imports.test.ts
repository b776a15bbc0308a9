// A notebook in a folder of its own (no node_modules, as after
// `tscolab install --user`) imports TensorFlow.js as on Colab: the kernel's
// own copy, the one %train uses, type-checked and at run time. A package in
// the notebook's folder still wins (tslab's rule: imports resolve there first).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { KernelClient, type RequestResult } from "../kernel/client";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-qa-imports-"));
let kernel: KernelClient;
const resultText = (r: RequestResult) => r.outputs.find((o) => o.msg_type === "execute_result")?.content.data["text/plain"];

beforeAll(async () => {
  // The notebook folder's own "zod" shadows the kernel's.
  fs.mkdirSync(path.join(dir, "node_modules", "zod"), { recursive: true });
  fs.writeFileSync(path.join(dir, "node_modules", "zod", "package.json"), JSON.stringify({ name: "zod", version: "0.0.1", main: "index.js", types: "index.d.ts" }));
  fs.writeFileSync(path.join(dir, "node_modules", "zod", "index.js"), "exports.local = 'the notebook folder';");
  fs.writeFileSync(path.join(dir, "node_modules", "zod", "index.d.ts"), "export declare const local: string;");
  kernel = await KernelClient.start({ cwd: dir, env: { ...process.env, TSCOLAB_BACKEND: "wasm" } });
});
afterAll(async () => {
  await kernel?.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a cell importing tfjs runs on the kernel's backend (as %train will), not tfjs's slow cpu default with its banner", async () => {
  const r = await kernel.execute('import * as tf from "@tensorflow/tfjs";\ntf.ones([2]).sum().dataSync()[0];\ntf.getBackend()');
  expect(resultText(r)).toBe("'wasm'");
  expect(
    r.outputs
      .filter((o) => o.msg_type === "stream")
      .map((o) => o.content.text)
      .join(""),
  ).not.toMatch(/looks like you are running TensorFlow.js in Node/);
});

test("import * as tf from '@tensorflow/tfjs' works outside the package, and %train takes the model", async () => {
  const built = await kernel.execute(
    'import * as tf from "@tensorflow/tfjs";\nconst net: tf.LayersModel = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: "softmax" })] });\nnet.layers.length',
  );
  expect(built.reply.content.status, JSON.stringify(built.reply.content)).toBe("ok");
  expect(resultText(built)).toBe("1");
  const trained = await kernel.execute(`%train net --data iris --epochs 1 --tier 3 --drive ${path.join(dir, "drive")} --as r\nr.status`);
  expect(resultText(trained)).toBe("'completed'");
});

test("a package in the notebook's folder still wins over the kernel's", async () => {
  const r = await kernel.execute('import { local } from "zod";\nlocal');
  expect(r.reply.content.status, JSON.stringify(r.reply.content)).toBe("ok");
  expect(resultText(r)).toBe("'the notebook folder'");
});
