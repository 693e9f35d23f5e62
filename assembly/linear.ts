// A dense layer: y = x·Wᵀ + b. Shapes: R rows (N·T or N), In inputs, O outputs.
// W [O,In] is stored as Wᵀ [In,O] in 8-column panels, like the LSTM's weights (see gemm.ts).
import { f4 } from "./vec";
import { gemm, gemm_rm, colsum_add } from "./gemm";

/**
 * y [R,O] = x [R,ldx] · Wᵀ + b.
 * w [In,O] panels, b [O].
 */
export function linear_forward(y: usize, x: usize, ldx: i32, w: usize, b: usize, R: i32, In: i32, O: i32): void {
  assert(R >= 0 && In > 0 && O > 0 && ldx >= In, "linear_forward: bad sizes");
  const bytes = f4(O);
  for (let r = 0; r < R; r++) memory.copy(y + <usize>r * bytes, b, bytes);
  gemm(y, x, w, R, O, In, ldx, 1, O, 8, true);
}

/**
 * Backward of linear_forward; gradients are added (the caller zeroes them).
 * dx [R,ldx] = dy·W (overwritten; pass dx = 0 to skip), dw [In,O] panels += xᵀ·dy, db [O] += Σ_r dy.
 * w_t: W in PyTorch orientation [O,In] as panels (transpose_packed of the stored w).
 * pack [gemm_scratch_size(R, O)]: scratch for dw (see gemm_rm).
 */
export function linear_backward(dx: usize, dw: usize, db: usize, pack: usize, dy: usize, x: usize, ldx: i32, w_t: usize,
                                R: i32, In: i32, O: i32): void {
  assert(R >= 0 && In > 0 && O > 0 && ldx >= In, "linear_backward: bad sizes");
  gemm_rm(dw, pack, x, dy, In, O, R, 1, ldx, O, 8, In * 8, true);
  colsum_add(db, 0, dy, R, O, O);
  if (dx != 0) gemm(dx, dy, w_t, R, In, O, O, 1, ldx, 8, false);
}
