// The ABI: every kernel the TypeScript side calls, and nothing else. test/abi.test.ts pins this list.
// gemm and gemm_rm are the GEMM entry: bench:kernels times them, and a thread pool splits the
// input projection and the weight gradients into calls on column ranges (see gemm.ts).
// The activations, the cell step and the bias helpers run inside lstm_forward/lstm_backward only.
export { gemm, gemm_rm, gemm_scratch_size, transpose_packed } from "./gemm";
export { lstm_forward, lstm_backward } from "./lstm";
export { sum_squares, scale, clip_value } from "./clip";
export { linear_forward, linear_backward } from "./linear";
export { mse, softmax_xent } from "./loss";
export { sgd_step, adam_step, orthonormalize_rows } from "./optim";

/** First free byte after static data: the TypeScript arena allocates from here. */
export function heap_base(): usize {
  return __heap_base;
}
