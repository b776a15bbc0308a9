// The transformer's custom layers. tfjs-layers 4.22 registers no attention
// layer for serialization, so these three are ours, registered with
// tf.serialization.registerClass so model.json round-trips:
//
//   TscolabTiedEmbedding      token ids [b, T] → vectors [b, T, d]; called a
//                             second time on vectors [b, T, d] it gives the
//                             logits [b, T, vocab] with the same matrix
//                             (weight tying for the language-model head).
//   TscolabPositionEmbedding  adds a learned vector per position.
//   TscolabSelfAttention      multi-head scaled dot-product attention over a
//                             packed [q | k | v] input [b, T, 3d] (the
//                             projections are ordinary Dense layers), with an
//                             optional causal mask.
//   TscolabLayerNorm          layer normalization over the last axis with
//                             broadcasting ops: tfjs-layers' own tiles its
//                             statistics to the input's shape, and Tile's
//                             gradient is a slice and an add per tile.
//
// defineTransformerLayers uses nothing but the `tf` it is given: its source
// is also what the tfjs export ships as its loader module (loader.ts), so the
// classes that load an export are these very classes.
import type * as tfType from "@tensorflow/tfjs";

type TF = typeof tfType;

export const LAYER_CLASS_NAMES = ["TscolabTiedEmbedding", "TscolabPositionEmbedding", "TscolabSelfAttention", "TscolabLayerNorm"] as const;

export interface TransformerLayerClasses {
  TiedEmbedding: new (args: { vocabSize: number; dModel: number; name?: string }) => tfType.layers.Layer;
  PositionEmbedding: new (args: { seqLen: number; dModel: number; name?: string }) => tfType.layers.Layer;
  SelfAttention: new (args: { heads: number; causal: boolean; name?: string }) => tfType.layers.Layer;
  LayerNorm: new (args: { epsilon: number; name?: string }) => tfType.layers.Layer;
}

const defined = new WeakMap<object, TransformerLayerClasses>();

/** The three layer classes for `tf`, defined and registered once per tfjs instance. */
export function transformerLayers(tf: TF): TransformerLayerClasses {
  let classes = defined.get(tf);
  if (!classes) defined.set(tf, (classes = defineTransformerLayers(tf)));
  return classes;
}

/** Defines and registers the three layer classes on `tf`; self-contained (see above). */
export function defineTransformerLayers(tf: TF): TransformerLayerClasses {
  const single = (inputs: unknown) => (Array.isArray(inputs) ? inputs[0] : inputs);
  const normal = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02 });

  class TiedEmbedding extends tf.layers.Layer {
    static className = "TscolabTiedEmbedding";
    vocabSize: number;
    dModel: number;
    embeddings: any = null;
    constructor(args: any) {
      super(args);
      this.vocabSize = args.vocabSize;
      this.dModel = args.dModel;
    }
    build(): void {
      this.embeddings = this.addWeight("embeddings", [this.vocabSize, this.dModel], "float32", normal());
      this.built = true;
    }
    computeOutputShape(inputShape: any): any {
      const s = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
      return s.length === 2 ? [...s, this.dModel] : [...s.slice(0, -1), this.vocabSize];
    }
    call(inputs: any): any {
      return tf.tidy(() => {
        const x = single(inputs) as tfType.Tensor;
        const table = this.embeddings.read() as tfType.Tensor2D;
        if (x.rank === 2) return tf.gather(table, tf.cast(x, "int32"));
        const shape = x.shape;
        const flat = tf.reshape(x, [-1, this.dModel]) as tfType.Tensor2D;
        return tf.reshape(tf.matMul(flat, table, false, true), [...shape.slice(0, -1), this.vocabSize]);
      });
    }
    getConfig(): any {
      return { ...super.getConfig(), vocabSize: this.vocabSize, dModel: this.dModel };
    }
  }

  class PositionEmbedding extends tf.layers.Layer {
    static className = "TscolabPositionEmbedding";
    seqLen: number;
    dModel: number;
    positions: any = null;
    constructor(args: any) {
      super(args);
      this.seqLen = args.seqLen;
      this.dModel = args.dModel;
    }
    build(): void {
      this.positions = this.addWeight("positions", [this.seqLen, this.dModel], "float32", normal());
      this.built = true;
    }
    computeOutputShape(inputShape: any): any {
      return inputShape;
    }
    call(inputs: any): any {
      return tf.tidy(() => tf.add(single(inputs) as tfType.Tensor, this.positions.read()));
    }
    getConfig(): any {
      return { ...super.getConfig(), seqLen: this.seqLen, dModel: this.dModel };
    }
  }

  class SelfAttention extends tf.layers.Layer {
    static className = "TscolabSelfAttention";
    heads: number;
    causal: boolean;
    /** The additive causal mask for the last sequence length seen, built once on the host. */
    maskData: Float32Array | null = null;
    constructor(args: any) {
      super(args);
      this.heads = args.heads;
      this.causal = !!args.causal;
    }
    causalMask(t: number): tfType.Tensor2D {
      if (!this.maskData || this.maskData.length !== t * t) {
        // 0 on and below the diagonal, -1e9 above: position i attends to positions <= i.
        this.maskData = new Float32Array(t * t);
        for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) this.maskData[i * t + j] = -1e9;
      }
      return tf.tensor2d(this.maskData, [t, t]);
    }
    computeOutputShape(inputShape: any): any {
      const s = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
      return [...s.slice(0, -1), s[s.length - 1] / 3];
    }
    call(inputs: any): any {
      return tf.tidy(() => {
        const x = single(inputs) as tfType.Tensor3D;
        const [b, t, packed] = x.shape;
        const d = packed / 3;
        const h = this.heads;
        const dh = d / h;
        // One fused kernel (forward and gradient) while tscolab's native kernels are on; see LayerNorm.
        if (x.dtype === "float32" && tf.getKernel("TscolabFusedAttention", tf.getBackend()))
          return tf.engine().runKernel("TscolabFusedAttention", { qkv: x }, { heads: h, causal: this.causal }) as tfType.Tensor;
        // [b, T, 3·d] → [b, 3·heads, T, dh] → q, k, v, each [b, heads, T, dh]: one rank-4 transpose
        // and block copies (splitting the last axis first is a strided copy per part, 3x slower on
        // wasm, and so is its gradient).
        const [q, k, v] = tf.split(tf.transpose(tf.reshape(x, [b, t, 3 * h, dh]), [0, 2, 1, 3]), 3, 1);
        let scores = tf.matMul(tf.mul(q, tf.scalar(1 / Math.sqrt(dh))), k, false, true);
        if (this.causal) scores = tf.add(scores, this.causalMask(t));
        const out = tf.matMul(tf.softmax(scores, -1), v);
        return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, d]);
      });
    }
    getConfig(): any {
      return { ...super.getConfig(), heads: this.heads, causal: this.causal };
    }
  }

  class LayerNorm extends tf.layers.Layer {
    static className = "TscolabLayerNorm";
    epsilon: number;
    gamma: any = null;
    beta: any = null;
    constructor(args: any) {
      super(args);
      this.epsilon = args.epsilon ?? 1e-5;
    }
    build(inputShape: any): void {
      const s = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
      const d = s[s.length - 1];
      this.gamma = this.addWeight("gamma", [d], "float32", tf.initializers.ones());
      this.beta = this.addWeight("beta", [d], "float32", tf.initializers.zeros());
      this.built = true;
    }
    computeOutputShape(inputShape: any): any {
      return inputShape;
    }
    call(inputs: any): any {
      return tf.tidy(() => {
        const x = single(inputs) as tfType.Tensor;
        // tscolab's native kernels register one fused kernel (forward and gradient) under this
        // name while they are on; elsewhere (another backend, a loaded export) the ops below.
        if (x.dtype === "float32" && tf.getKernel("TscolabFusedLayerNorm", tf.getBackend()))
          return tf.engine().runKernel("TscolabFusedLayerNorm", { x, gamma: this.gamma.read(), beta: this.beta.read() }, { epsilon: this.epsilon }) as tfType.Tensor;
        const centered = tf.sub(x, tf.mean(x, -1, true));
        const variance = tf.mean(tf.square(centered), -1, true);
        const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, tf.scalar(this.epsilon))));
        return tf.add(tf.mul(normed, this.gamma.read()), this.beta.read());
      });
    }
    getConfig(): any {
      // The keys of tfjs' LayerNormalization, so tools that read one read the other.
      return { ...super.getConfig(), axis: -1, epsilon: this.epsilon, center: true, scale: true };
    }
  }

  for (const cls of [TiedEmbedding, PositionEmbedding, SelfAttention, LayerNorm]) tf.serialization.registerClass(cls as any);
  return { TiedEmbedding, PositionEmbedding, SelfAttention, LayerNorm } as unknown as TransformerLayerClasses;
}
