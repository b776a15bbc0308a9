// The hand-written protobuf writer against encodings from the protobuf
// wire-format documentation, and a ModelProto whose declared outputs repeat
// one tensor (so the converter must add Identity nodes).
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { layersModelToOnnx, runOnnx } from "../engine/export/onnx";
import { ProtoWriter } from "../engine/export/onnx/protobuf_writer";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ProtoWriter", () => {
  it("encodes varints as the protobuf docs do", () => {
    expect(hex(new ProtoWriter().varint(1, 150).finish())).toBe("089601");
    expect(hex(new ProtoWriter().varint(1, 300).finish())).toBe("08ac02");
    // int64 -1: ten bytes of two's complement
    expect(hex(new ProtoWriter().varint(1, -1).finish())).toBe("08ffffffffffffffffff01");
    expect(hex(new ProtoWriter().varint(1, 2 ** 40).finish())).toBe("08808080808020");
  });

  it("encodes strings, floats and nested messages", () => {
    expect(hex(new ProtoWriter().string(2, "testing").finish())).toBe("120774657374696e67");
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe("150000803f");
    const nested = new ProtoWriter().message(3, (w) => w.varint(1, 150)).finish();
    expect(hex(nested)).toBe("1a03089601");
  });

  it("keeps large byte payloads intact across chunks", () => {
    const payload = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    const out = new ProtoWriter().varint(1, 7).bytes(9, payload).string(8, "w").finish();
    // key 0x4a (field 9, wire 2), length 100000 as varint a08d06
    expect(hex(out.subarray(0, 6))).toBe("08074aa08d06");
    expect(Buffer.from(out.subarray(6, 6 + payload.length)).equals(Buffer.from(payload))).toBe(true);
    expect(hex(out.subarray(6 + payload.length))).toBe("420177");
  });
});

describe("graph outputs", () => {
  it("a tensor returned twice becomes two outputs (one through Identity)", async () => {
    const x = tf.input({ shape: [3] });
    const y = tf.layers.dense({ units: 2, activation: "sigmoid" }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: x, outputs: [y, y] });
    const bytes = layersModelToOnnx(model);
    expect(Buffer.from(bytes).includes(Buffer.from("Identity"))).toBe(true);
    const input = Float32Array.from([0.5, -1, 2]);
    const got = await runOnnx(bytes, input, [1, 3]);
    // (tfjs' own predict cannot return one tensor twice; a one-output twin gives the reference)
    const want = (tf.model({ inputs: x, outputs: y }).predict(tf.tensor(input, [1, 3])) as tf.Tensor).dataSync();
    expect(Math.max(...Array.from(want, (w, i) => Math.abs(w - got.data[i]!)))).toBeLessThan(1e-6);
  });
});
