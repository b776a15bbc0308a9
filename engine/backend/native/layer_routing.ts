// Wraps a tfjs-layers layer class's call so a call can take fused native
// kernels: `route` looks at the layer and its one input and returns the
// fused computation, or null to run the layer's own call. The wrapper is
// installed once per class and stays; with native off `route` returns null
// (its kernels are not registered), so the layer is exactly tfjs's again.
import { serialization, tidy, type Tensor } from "@tensorflow/tfjs-core";

export interface RoutedLayer {
  call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor | Tensor[];
  invokeCallHook(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): void;
  trainable: boolean;
  activation: { getClassName(): string; apply(x: Tensor): Tensor } | null;
  kernel: { read(): Tensor };
  bias: { read(): Tensor } | null;
  trainableWeights: unknown[];
  /** Where the layer was applied in a model's graph (empty when applied to tensors outside one). */
  inboundNodes?: { inboundLayers: unknown[] }[];
}

const wrapped = new Set<string>();

/** Wraps `className`'s call (no-op when already wrapped, or when tfjs-layers has not registered the class). */
export function routeLayerCall<L extends RoutedLayer>(className: string, route: (layer: L, x: Tensor) => ((x: Tensor) => Tensor) | null): void {
  if (wrapped.has(className)) return;
  const entry = serialization.SerializationMap.getMap().classNameMap[className] as unknown as [{ prototype: L }] | undefined;
  if (!entry) return;
  wrapped.add(className);
  const proto = entry[0].prototype;
  const stockCall = proto.call;
  proto.call = function (this: L, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
    const fused = x ? route(this, x) : null;
    if (!x || !fused) return stockCall.call(this, inputs, kwargs);
    return tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      return fused(x);
    });
  };
}

/** True unless every layer upstream of `layer` is frozen or has no weights (then its input's gradient is never needed in training). */
export function upstreamTrains(layer: RoutedLayer): boolean {
  if (!layer.inboundNodes?.length) return true; // applied outside a model: the input may need a gradient
  const seen = new Set<RoutedLayer>();
  const walk = (l: RoutedLayer): boolean =>
    (l.inboundNodes ?? []).some((node) =>
      (node.inboundLayers as unknown as RoutedLayer[]).some((up) => {
        if (seen.has(up)) return false;
        seen.add(up);
        return up.trainableWeights.length > 0 || walk(up);
      }),
    );
  return walk(layer);
}
