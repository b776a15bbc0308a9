// ONNX export without Python. The `onnx` export format (../onnx_format.ts)
// calls layersModelToOnnx and validates the file with openOnnxSession.
export { layersModelToOnnx } from "./convert";
export { onnxExportOptionsSchema, MIN_OPSET, MAX_OPSET, type OnnxExportOptions } from "./options";
export { openOnnxSession, runOnnx, type OnnxSession, type OnnxTensorData, type OpenOnnxOptions } from "./runtime";
export { supportedLayerClasses } from "./layer_converters";
export { SUPPORTED_ACTIVATIONS } from "./activations";
export { findOnnxPython, checkOnnxFiles, onnxCheckerMaxOpset, type OnnxCheckResult } from "./checker";
