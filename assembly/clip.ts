// Gradient clipping over flat f32 buffers: norm by sum of squares, scaling, and value clamping.
import { f4 } from "./vec";

/**
 * Σ g² over g[n], accumulated in f64: exact enough that ‖g‖ = maxNorm is seen as equal (3-4-5
 * cases) and squares of large f32 values do not overflow.
 */
export function sum_squares(g: usize, n: i32): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(g + f4(i));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
      acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
    }
    const acc = f64x2.add(acc0, acc1);
    s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  }
  for (; i < n; i++) {
    const v = <f64>load<f32>(g + f4(i));
    s += v * v;
  }
  return s;
}

/** g[n] *= scale. */
export function scale(g: usize, n: i32, k: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const kv = f32x4.splat(k);
    for (; i + 4 <= n; i += 4) v128.store(g + f4(i), f32x4.mul(v128.load(g + f4(i)), kv));
  }
  for (; i < n; i++) store<f32>(g + f4(i), load<f32>(g + f4(i)) * k);
}

/** g[n] = clamp(g, -v, v); NaN stays NaN, as torch.clamp. */
export function clip_value(g: usize, n: i32, v: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const hi = f32x4.splat(v), lo = f32x4.splat(-v);
    for (; i + 4 <= n; i += 4) v128.store(g + f4(i), f32x4.max(f32x4.min(v128.load(g + f4(i)), hi), lo));
  }
  for (; i < n; i++) store<f32>(g + f4(i), max<f32>(min<f32>(load<f32>(g + f4(i)), v), -v));
}
