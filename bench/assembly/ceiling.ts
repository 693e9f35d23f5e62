// The f32x4 arithmetic ceiling of this machine's wasm engine, and its clock.
// Built twice: mul+add (simd) and relaxed_madd (relaxed-simd). See kernels.mjs for how each is used.
import { madd } from "../../assembly/vec";

// The loop's two constants, read from memory once before it: written as f32x4.splat(constant),
// V8 11.3 rebuilt both inside the loop every iteration (7 extra instructions per 12 multiply-adds),
// which read the ceiling about 14% low. A loaded value is not rematerialised; it stays in a register.
const K: usize = memory.data<f32>([0.999999, 1e-7]);

/**
 * Register-only multiply-adds x = x·m + a on 12 independent accumulators, no memory traffic in the
 * loop: 12 accumulators + m + a = 14 of V8's 15 usable xmm registers. Flops = iters * 12 * 4 * 2.
 */
export function ceiling(iters: i32, seed: f32): f32 {
  const m = v128.load32_splat(K), a = v128.load32_splat(K, 4);
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

/**
 * The clock: 32 dependent i32 adds a loop iteration (x += y; y comes from the caller, so nothing
 * folds). An integer add has a latency of one cycle on every x86-64 and ARM64 core, and the loop's
 * own counter and branch run beside the chain, so an iteration takes 32 cycles: Hz = 32·iters/s.
 */
export function clock(iters: i32, y: i32): i32 {
  let x = y;
  for (let i = 0; i < iters; i++) {
    x += y; x += y; x += y; x += y; x += y; x += y; x += y; x += y;
    x += y; x += y; x += y; x += y; x += y; x += y; x += y; x += y;
    x += y; x += y; x += y; x += y; x += y; x += y; x += y; x += y;
    x += y; x += y; x += y; x += y; x += y; x += y; x += y; x += y;
  }
  return x;
}
