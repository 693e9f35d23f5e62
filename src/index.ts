// Public exports only.
export { init, detectBackend } from "./wasm/backend";
export type { BackendName, InitOptions, WasmSource } from "./wasm/backend";
export { LSTM } from "./lstm";
export type { LSTMOptions, ForwardOptions, ForwardResult, BackwardOptions, BackwardResult, LSTMState, Gates } from "./lstm";
export type { LSTMConfig } from "./layout";
export { Linear } from "./linear";
export type { LinearOptions } from "./linear";
export { Sequential } from "./sequential";
export type { SequentialOptions, FitOptions, History, LossName, EpochLogs } from "./sequential";
export { SGD, Adam, AdamW } from "./optim";
export type { SGDOptions, AdamOptions } from "./optim";
export type { InitScheme } from "./init";
export { clipGradNorm, clipGradValue } from "./clip";
export type { GradientSet } from "./clip";
export { LSTMError } from "./errors";
export type { Tensor, TensorLike, NestedArray } from "./tensor";
