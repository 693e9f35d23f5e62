// Losses, each fused with its gradient: one pass gives the value and dL/d(prediction).
// Rows whose mask entry is 0 (padded steps) add nothing and get a zero gradient.
import { f4 } from "./vec";
import { exp_neg, exp_neg_v } from "./activations";

/**
 * Mean squared error over the valid rows: L = Σ (p - y)² / (rows·C), returned in f64.
 * d [R,C] = dL/dp (scaled by `scale`); p, y [R,C]; mask i32 [R] or 0 for all rows valid.
 */
export function mse(d: usize, p: usize, y: usize, mask: usize, R: i32, C: i32, scale: f32): f64 {
  let rows = 0;
  for (let r = 0; r < R; r++) if (mask == 0 || load<i32>(mask + f4(r)) != 0) rows++;
  if (rows == 0) { memory.fill(d, 0, f4(R * C)); return 0; }
  const k: f32 = <f32>(2.0 / (<f64>rows * <f64>C)) * scale;
  let sum: f64 = 0;
  for (let r = 0; r < R; r++) {
    const o = f4(r * C);
    if (mask != 0 && load<i32>(mask + f4(r)) == 0) { memory.fill(d + o, 0, f4(C)); continue; }
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const kv = f32x4.splat(k);
      let acc = f64x2.splat(0);
      for (; j + 4 <= C; j += 4) {
        const e = f32x4.sub(v128.load(p + o + f4(j)), v128.load(y + o + f4(j)));
        v128.store(d + o + f4(j), f32x4.mul(e, kv));
        const lo = f64x2.promote_low_f32x4(e), hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1));
        acc = f64x2.add(acc, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
      }
      sum += f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
    }
    for (; j < C; j++) {
      const e = load<f32>(p + o + f4(j)) - load<f32>(y + o + f4(j));
      store<f32>(d + o + f4(j), e * k);
      sum += <f64>e * <f64>e;
    }
  }
  return sum / (<f64>rows * <f64>C);
}

/**
 * Softmax cross-entropy with integer classes, mean over valid rows, returned in f64.
 * d [R,C] = dL/dz = (softmax(z) - onehot(t)) / rows, scaled by `scale`. z [R,C] logits;
 * t i32 [R] classes, a negative class marks a row to ignore. Stable for any finite logits: every
 * exponent is z - max(z) <= 0, and log Σ exp is taken in f64.
 */
export function softmax_xent(d: usize, z: usize, t: usize, R: i32, C: i32, scale: f32): f64 {
  let rows = 0;
  for (let r = 0; r < R; r++) if (load<i32>(t + f4(r)) >= 0) rows++;
  if (rows == 0) { memory.fill(d, 0, f4(R * C)); return 0; }
  const inv: f32 = <f32>(1.0 / <f64>rows) * scale;
  let loss: f64 = 0;
  for (let r = 0; r < R; r++) {
    const o = f4(r * C), cls = load<i32>(t + f4(r));
    if (cls < 0) { memory.fill(d + o, 0, f4(C)); continue; }
    let mx = load<f32>(z + o), jm = 1;
    if (ASC_FEATURE_SIMD) {
      if (C >= 4) {
        let m4 = v128.load(z + o);
        for (jm = 4; jm + 4 <= C; jm += 4) m4 = f32x4.pmax(m4, v128.load(z + o + f4(jm)));
        mx = max<f32>(max<f32>(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max<f32>(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
      }
    }
    for (let j = jm; j < C; j++) mx = max<f32>(mx, load<f32>(z + o + f4(j)));
    // e_j = exp(z_j - max) into d, and their sum.
    let s: f64 = 0, j = 0;
    if (ASC_FEATURE_SIMD) {
      const mv = f32x4.splat(mx);
      let acc = f32x4.splat(0);
      for (; j + 4 <= C; j += 4) {
        const e = exp_neg_v(f32x4.sub(v128.load(z + o + f4(j)), mv));
        v128.store(d + o + f4(j), e);
        acc = f32x4.add(acc, e);
      }
      s = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    }
    for (; j < C; j++) {
      const e = exp_neg(load<f32>(z + o + f4(j)) - mx);
      store<f32>(d + o + f4(j), e);
      s += <f64>e;
    }
    loss += Math.log(s) + (<f64>mx - <f64>load<f32>(z + o + f4(cls))); // the gap first: exact even near 3e38
    const k: f32 = <f32>(1.0 / s) * inv;
    j = 0;
    if (ASC_FEATURE_SIMD) {
      const kv = f32x4.splat(k);
      for (; j + 4 <= C; j += 4) v128.store(d + o + f4(j), f32x4.mul(v128.load(d + o + f4(j)), kv));
    }
    for (; j < C; j++) store<f32>(d + o + f4(j), load<f32>(d + o + f4(j)) * k);
    store<f32>(d + o + f4(cls), load<f32>(d + o + f4(cls)) - inv);
  }
  return loss / <f64>rows;
}
