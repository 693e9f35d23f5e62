// Public exports only.
export { init, detectBackend } from "./wasm/backend";
export type { BackendName, InitOptions, WasmSource } from "./wasm/backend";
export { LSTM } from "./lstm";
export type { LSTMOptions, ForwardOptions, ForwardResult, BackwardOptions, BackwardResult, LSTMState, Gates } from "./lstm";
export type { LSTMConfig } from "./layout";
export { clipGradNorm, clipGradValue } from "./clip";
export type { GradientSet } from "./clip";
export { LSTMError } from "./errors";
export type { Tensor, TensorLike, NestedArray } from "./tensor";
