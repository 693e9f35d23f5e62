// The ABI: every kernel the TypeScript side calls, and nothing else. test/abi.test.ts pins this list.
// Enumerations passed as i32: the LSTM's recurrent activation `ract` (lstm_cell.ts) is 0 sigmoid,
// 1 hard sigmoid; Linear's `act` (linear.ts) is 0 none (logits), 1 relu, 2 tanh, 3 sigmoid, 4 softmax.
// gemm and gemm_rm are exported for bench:kernels and the kernel tests; the layers reach them
// through lstm_forward / lstm_backward and the linear kernels, which split the work over threads
// themselves (sync.ts).
// The activations, the cell step and the bias helpers run inside the LSTM and linear kernels only.
// Scratch is the caller's: no kernel writes below heap_base (gemm_scratch_size sizes gemm_rm's).
export { gemm, gemm_rm, gemm_scratch_size, transpose_packed } from "./gemm";
export { lstm_forward, lstm_backward } from "./lstm";
export { sum_squares, scale, clip_value } from "./clip";
export { linear_forward, linear_backward } from "./linear";
export { embedding_forward, embedding_backward } from "./embedding";
export { dropout_forward, dropout_backward } from "./dropout";
export { mse, softmax_xent } from "./loss";
export { sgd_step, adam_step, orthonormalize_rows } from "./optim";

/** First free byte after static data: the TypeScript arena allocates from here. */
export function heap_base(): usize {
  return __heap_base;
}
