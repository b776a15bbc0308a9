// Training data for %train: CSV / JSONL readers and built-in data sets.
export { loadDataset, normalizationStats, applyNormalization, type LoadedDataset, type Split, type LoadDatasetOptions } from "./dataset";
export { dataConfig, datasetInfo, taskName, BUILTIN_DATASETS, type DataConfigInput, type DatasetInfo, type Task } from "./schema";
export { readTable, tableFormat, type TableRow } from "./table_reader";
