// Zoo "transformer": the model and its custom layers.
export { transformer, transformerShape, TRANSFORMER_DEFAULTS, type TransformerShape } from "./model";
export { defineTransformerLayers, transformerLayers, LAYER_CLASS_NAMES } from "./layers";
