// The ABI: every kernel the TypeScript side calls, and nothing else. test/abi.test.ts pins this list.
export { sigmoid_forward, sigmoid_backward, tanh_forward, tanh_backward } from "./activations";
export { gemm, gemm_rm, gemm_scratch_size, transpose_packed, bias_rows, colsum_add } from "./gemm";
export { lstm_cell_forward, lstm_cell_backward } from "./lstm_cell";
export { lstm_forward, lstm_backward } from "./lstm";
export { sum_squares, scale, clip_value } from "./clip";
export { linear_forward, linear_backward } from "./linear";
export { mse, softmax_xent } from "./loss";
export { sgd_step, adam_step, orthonormalize_rows } from "./optim";

/** First free byte after static data: the TypeScript arena allocates from here. */
export function heap_base(): usize {
  return __heap_base;
}
