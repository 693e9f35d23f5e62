// The f32x4 arithmetic ceiling of this machine's wasm engine: register-only multiply-adds on
// 12 independent accumulators (enough to cover add latency on two pipes), no memory traffic.
// Built twice: mul+add (simd) and relaxed_madd (relaxed-simd). Flops = iters * 12 * 4 * 2.
import { madd } from "../../assembly/vec";

export function ceiling(iters: i32, seed: f32): f32 {
  const m = f32x4.splat(0.999999), a = f32x4.splat(seed * 1e-7);
  let x0 = f32x4.splat(seed), x1 = f32x4.splat(seed + 1), x2 = f32x4.splat(seed + 2), x3 = f32x4.splat(seed + 3);
  let x4 = f32x4.splat(seed + 4), x5 = f32x4.splat(seed + 5), x6 = f32x4.splat(seed + 6), x7 = f32x4.splat(seed + 7);
  let x8 = f32x4.splat(seed + 8), x9 = f32x4.splat(seed + 9), xa = f32x4.splat(seed + 10), xb = f32x4.splat(seed + 11);
  for (let i = 0; i < iters; i++) {
    x0 = madd(x0, m, a); x1 = madd(x1, m, a); x2 = madd(x2, m, a); x3 = madd(x3, m, a);
    x4 = madd(x4, m, a); x5 = madd(x5, m, a); x6 = madd(x6, m, a); x7 = madd(x7, m, a);
    x8 = madd(x8, m, a); x9 = madd(x9, m, a); xa = madd(xa, m, a); xb = madd(xb, m, a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  const t = f32x4.add(f32x4.add(x8, x9), f32x4.add(xa, xb));
  return f32x4.extract_lane(f32x4.add(s, t), 0);
}
