// Registers the transformer's layer classes with the engine's tfjs, so that
// tf.loadLayersModel reads a transformer's model.json (checkpoints, best/,
// exports). Imported for its side effect by whatever loads saved models.
import * as tf from "@tensorflow/tfjs";
import { transformerLayers } from "./layers";

transformerLayers(tf);
