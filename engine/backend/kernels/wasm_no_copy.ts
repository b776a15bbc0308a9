// Identity, and Cast to the dtype a tensor already has, copy the whole buffer
// on stock wasm. tfjs tensors are immutable and the wasm backend already
// shares buffers between tensors (Reshape does), so sharing is safe here too.
// Every relu gradient (mul(dy, cast(step(x), 'float32'))) hits this.
import { Cast, Identity, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callStock } from "./stock";

interface SharingBackend {
  incRef(dataId: object): void;
}

function share(backend: SharingBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const identity: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  if (x.dtype === "string") return callStock(Identity, "wasm", inputs, backend, attrs);
  return share(backend as unknown as SharingBackend, x);
};

const cast: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  if (x.dtype === (attrs as { dtype?: string }).dtype && x.dtype !== "string") return share(backend as unknown as SharingBackend, x);
  return callStock(Cast, "wasm", inputs, backend, attrs);
};

export function wasmIdentityConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Identity, backendName: "wasm", kernelFunc: identity, setupFunc };
}

export function wasmCastConfig(setupFunc?: KernelConfig["setupFunc"]): KernelConfig {
  return { kernelName: Cast, backendName: "wasm", kernelFunc: cast, setupFunc };
}
