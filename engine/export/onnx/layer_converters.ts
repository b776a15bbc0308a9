// Every Keras layer class the converter knows, by tfjs class name.
import type { LayerConverter } from "./layer_conversion";
import { advancedActivationConverters } from "./layers/advanced_activations";
import { convConverters } from "./layers/conv";
import { coreConverters } from "./layers/core";
import { embeddingConverters } from "./layers/embedding";
import { mergeConverters } from "./layers/merge";
import { normalizationConverters } from "./layers/normalization";
import { poolingConverters } from "./layers/pooling";
import { recurrentConverters } from "./layers/recurrent";
import { reshapingConverters } from "./layers/reshaping";
import { transformerConverters } from "./layers/transformer";
import { wrapperConverters } from "./layers/wrappers";

export const layerConverters: Readonly<Record<string, LayerConverter>> = {
  ...coreConverters,
  ...convConverters,
  ...poolingConverters,
  ...normalizationConverters,
  ...mergeConverters,
  ...embeddingConverters,
  ...advancedActivationConverters,
  ...reshapingConverters,
  ...wrapperConverters,
  ...recurrentConverters,
  ...transformerConverters,
};

export const supportedLayerClasses = (): string[] => Object.keys(layerConverters).sort();
