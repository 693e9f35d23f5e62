// A dense layer with its activation fused: y = act(x·Wᵀ + b). Shapes: R rows (N·T or N), In
// inputs, O outputs. W [O,In] is stored as Wᵀ [In,O] in 8-column panels, like the LSTM's weights
// (see gemm.ts). The activation runs over y in place after the GEMM, and its backward works from
// the saved y, so a forward keeps only y.
// ACT_NONE gives the logits: the path for loss.ts's softmax_xent, which takes logits, so a softmax
// layer trained with cross-entropy runs as ACT_NONE + softmax_xent (no double softmax).
import { f4, copy_rows } from "./vec";
import { gemm, gemm_rm, colsum_add } from "./gemm";
import {
  relu_forward, relu_backward, tanh_forward, tanh_backward, sigmoid_forward, sigmoid_backward,
  softmax_forward, softmax_backward,
} from "./activations";

/** Activations (the `act` argument). Softmax is over each row's O outputs. */
@inline export const ACT_NONE: i32 = 0;
@inline export const ACT_RELU: i32 = 1;
@inline export const ACT_TANH: i32 = 2;
@inline export const ACT_SIGMOID: i32 = 3;
@inline export const ACT_SOFTMAX: i32 = 4;

/**
 * y [R,O] = act(x [R,ldx] · Wᵀ + b).
 * w [In,O] panels; b [O], or 0 for no bias. act: ACT_NONE .. ACT_SOFTMAX.
 */
export function linear_forward(y: usize, x: usize, ldx: i32, w: usize, b: usize, R: i32, In: i32, O: i32, act: i32): void {
  assert(R >= 0 && In > 0 && O > 0 && ldx >= In, "linear_forward: bad sizes");
  assert(act >= ACT_NONE && act <= ACT_SOFTMAX, "linear_forward: unknown activation");
  if (b != 0) copy_rows(y, O, b, 0, R, O);
  gemm(y, x, w, R, O, In, ldx, 1, O, 8, b != 0);
  const n = R * O;
  if (act == ACT_RELU) relu_forward(y, y, n);
  else if (act == ACT_TANH) tanh_forward(y, y, n);
  else if (act == ACT_SIGMOID) sigmoid_forward(y, y, n);
  else if (act == ACT_SOFTMAX) softmax_forward(y, y, R, O);
}

/**
 * Backward of linear_forward; parameter gradients are added (the caller zeroes them).
 * dx [R,ldx] = dz·W (overwritten; pass dx = 0 to skip), dw [In,O] panels += xᵀ·dz,
 * db [O] += Σ_r dz (db = 0: no bias, skipped).
 * dz [R,O]   out: dL/d(pre-activation), scratch for act != ACT_NONE (may be dy itself, which it
 *            then overwrites); ignored for ACT_NONE, where dz is dy.
 * dy [R,O] dL/dy; y [R,O] the forward's output (read for act != ACT_NONE); x [R,ldx] its input.
 * w_t: W in PyTorch orientation [O,In] as panels (transpose_packed of the stored w).
 * pack [gemm_scratch_size(R, O)]: scratch for dw (see gemm_rm).
 */
export function linear_backward(dx: usize, dw: usize, db: usize, dz: usize, pack: usize, dy: usize, y: usize,
                                x: usize, ldx: i32, w_t: usize, R: i32, In: i32, O: i32, act: i32): void {
  assert(R >= 0 && In > 0 && O > 0 && ldx >= In, "linear_backward: bad sizes");
  assert(act >= ACT_NONE && act <= ACT_SOFTMAX, "linear_backward: unknown activation");
  assert(act == ACT_NONE || (dz != 0 && y != 0), "linear_backward: an activation needs dz and y");
  const n = R * O;
  let g = dy;
  if (act != ACT_NONE) {
    if (act == ACT_RELU) relu_backward(dz, dy, y, n);
    else if (act == ACT_TANH) tanh_backward(dz, dy, y, n);
    else if (act == ACT_SIGMOID) sigmoid_backward(dz, dy, y, n);
    else softmax_backward(dz, dy, y, R, O);
    g = dz;
  }
  gemm_rm(dw, pack, x, g, In, O, R, 1, ldx, O, 8, In * 8, true);
  if (db != 0) colsum_add(db, 0, g, R, O, O);
  if (dx != 0) gemm(dx, g, w_t, R, In, O, O, 1, ldx, 8, false);
}
