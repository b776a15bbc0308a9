// Registers every magic. Import this once (the kernel and the CLI do).
import "./registry";
import "./verify_env/magic";
import "./train/magic";
import "./export/magic";
import "./drive/magic";
import "./runs/magic";
import "./compare/magic";
import "./sweep/magic";
import "./evaluate/magic";
import "./predict/magic";
import "./monitor/magic";
import "./bundle/magic";
import "./reproduce/magic";
import "./pipeline/magic";
import "./worker/magic";
import "./generate/magic";

export { invokeMagic, listMagics, getMagic, registerMagic } from "./registry";
export * from "./types";
