// ONNX export without Python (issue 10, SPEC section 11). E's %export calls
// layersModelToOnnx for the `onnx` format and validates with openOnnxSession.
export { layersModelToOnnx } from "./convert";
export { onnxExportOptionsSchema, MIN_OPSET, MAX_OPSET, type OnnxExportOptions } from "./options";
export { openOnnxSession, runOnnx, type OnnxSession, type OnnxTensorData, type OpenOnnxOptions } from "./runtime";
export { supportedLayerClasses } from "./layer_converters";
export { SUPPORTED_ACTIVATIONS } from "./activations";
export { findOnnxPython, checkOnnxFiles, onnxCheckerMaxOpset, type OnnxCheckResult } from "./checker";
