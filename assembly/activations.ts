// Sigmoid and tanh, vectorised, finite for every finite input.
//
//   sigmoid(x) = 1/(1+e),                  e = exp(-x), its argument clamped to [-87, 87]
//   tanh(x)    = sign(x) * (1-e)/(1+e),    e = exp(-2|x|), clamped to [-87, 0]
// The clamps keep 2^n inside the float exponent range (no overflow, no denormals); past them the
// results are already 1 (or 0: sigmoid below -87 is set to exactly 0, its limit).
// exp(x), x in [-87, 87]: x = n*ln2 + r with |r| <= ln2/2, exp(r) by its degree-6 Taylor
// polynomial (truncation r^7/7! * e^r <= 1.7e-7 relative), 2^n built in the exponent bits.
// sigmoid once chose between 1/(1+e) and e/(1+e) by sign with e = exp(-|x|), as tanh still must
// (it needs e <= 1 for (1-e)/(1+e)); one exp over both signs drops four vector ops and measured
// 1.87 against 1.47 Gelem/s (relaxed build), with the same maximum error on the same inputs.
// Measured max abs error against float64 (test/activations.test.ts, all builds): 8.8e-8 for
// sigmoid, 1.0e-7 for tanh, inside the required 1e-6. NaN propagates; +-Inf give the limits.
import { madd, f4 } from "./vec";

// log2(e), and ln2 split into a high part with few mantissa bits plus a correction so that
// n*LN2_HI is exact for |n| <= 126 (Cody-Waite reduction; the split is Cephes' expf constants).
@inline const LOG2E: f32 = 1.44269504088896341;
@inline const LN2_HI: f32 = 0.693359375;
@inline const LN2_LO: f32 = -2.12194440e-4;
// exp(±87) (1.6e-38, 6.1e37) are normal floats; further out 2^n would leave the exponent range.
@inline const EXP_MIN: f32 = -87.0;
@inline const EXP_MAX: f32 = 87.0;
// 1.5 * 2^23: adding it rounds x*log2(e) to an integer n held in the low mantissa bits, so
// n << 23 is read straight off the bits (cheaper than nearest + trunc_sat, which V8 expands).
@inline const ROUND: f32 = 12582912.0;
// Taylor coefficients 1/k!.
@inline const C2: f32 = 0.5;
@inline const C3: f32 = 0.16666666666666666;
@inline const C4: f32 = 0.041666666666666664;
@inline const C5: f32 = 0.008333333333333333;
@inline const C6: f32 = 0.001388888888888889;

// The vector constants are splat-loaded from this table rather than written as v128.const:
// V8 rebuilds a v128.const inside every loop iteration (three instructions), a splat load is one.
// With that, pmax for the clamp (one instruction; f32x4.max's NaN rules cost seven) and -|x| as one
// OR, sigmoid over 512 floats went from 934 ns to the figure in bench:kernels.
const KT: usize = memory.data<f32>([LOG2E, ROUND, -LN2_HI, -LN2_LO, C6, C5, C4, C3, C2, 1.0, EXP_MIN, -0.0, -2.0, EXP_MAX]);
@inline const K_LOG2E = 0, K_ROUND = 1, K_LN2_HI = 2, K_LN2_LO = 3, K_C6 = 4, K_C5 = 5, K_C4 = 6, K_C3 = 7;
@inline const K_C2 = 8, K_ONE = 9, K_MIN = 10, K_SIGN = 11, K_M2 = 12, K_MAX = 13;
/** Constant i of the table, in all four lanes. */
@inline export function kv(i: i32): v128 {
  return v128.load32_splat(KT + (<usize>i << 2));
}
@inline export function one_v(): v128 {
  return kv(K_ONE);
}

/** exp(x) for x <= 0, four lanes; 0 below -87 (softmax relies on exact zeros there). */
@inline export function exp_neg_v(x0: v128): v128 {
  const x = f32x4.pmax(x0, kv(K_MIN)); // x0 < min ? min : x0, so NaN stays NaN
  return v128.andnot(exp_core_v(x), f32x4.lt(x0, kv(K_MIN)));
}

/** exp(x) for x in [-87, 87] (the caller clamps), four lanes. */
@inline function exp_core_v(x: v128): v128 {
  const t = madd(x, kv(K_LOG2E), kv(K_ROUND));
  const n = f32x4.sub(t, kv(K_ROUND));
  let r = madd(n, kv(K_LN2_HI), x);
  r = madd(n, kv(K_LN2_LO), r);
  let p = madd(kv(K_C6), r, kv(K_C5));
  p = madd(p, r, kv(K_C4));
  p = madd(p, r, kv(K_C3));
  p = madd(p, r, kv(K_C2));
  p = madd(p, r, kv(K_ONE));
  p = madd(p, r, kv(K_ONE));
  const scale = i32x4.add(i32x4.shl(t, 23), kv(K_ONE)); // 1.0f's bits are 127 << 23
  return f32x4.mul(p, scale);
}

/** exp(x) for x <= 0, scalar: the same math as exp_neg_v, without fusion. */
@inline export function exp_neg(x0: f32): f32 {
  if (x0 < EXP_MIN) return 0;
  return exp_core(x0);
}

/** exp(x) for x in [-87, 87] or NaN, scalar: the same math as exp_core_v, without fusion. */
@inline function exp_core(x: f32): f32 {
  const t = x * LOG2E + ROUND;
  const n = t - ROUND;
  let r = x - n * LN2_HI;
  r = r - n * LN2_LO;
  let p = C6 * r + C5;
  p = p * r + C4;
  p = p * r + C3;
  p = p * r + C2;
  p = p * r + 1.0;
  p = p * r + 1.0;
  return p * reinterpret<f32>((reinterpret<i32>(t) << 23) + (127 << 23));
}

@inline export function sigmoid_v(x: v128): v128 {
  // pmin/pmax keep NaN (they return the first operand unless the comparison holds).
  const nx = f32x4.pmin(f32x4.pmax(v128.xor(x, kv(K_SIGN)), kv(K_MIN)), kv(K_MAX));
  const s = f32x4.div(kv(K_ONE), f32x4.add(kv(K_ONE), exp_core_v(nx)));
  return v128.andnot(s, f32x4.lt(x, kv(K_MIN))); // x < -87 (and -Inf): exactly 0
}

@inline export function sigmoid(x: f32): f32 {
  if (x < EXP_MIN) return 0;
  const nx = x > EXP_MAX ? EXP_MIN : -x; // keeps NaN
  return 1.0 / (1.0 + exp_core(nx));
}

@inline export function tanh_v(x: v128): v128 {
  const sign = kv(K_SIGN);
  const e = exp_core_v(f32x4.pmax(f32x4.mul(v128.andnot(x, sign), kv(K_M2)), kv(K_MIN))); // exp(-2|x|)
  const one = kv(K_ONE);
  const t = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  return v128.or(t, v128.and(x, sign));
}

@inline export function tanh(x: f32): f32 {
  const a: f32 = -2.0 * abs<f32>(x);
  const e = exp_core(a < EXP_MIN ? EXP_MIN : a); // keeps NaN
  return copysign<f32>((1.0 - e) / (1.0 + e), x);
}

// ---- elementwise kernels over n floats (in place allowed: out == x) --------------------------

/** out[n] = sigmoid(x[n]). Two vectors per iteration give the core two independent chains. */
export function sigmoid_forward(out: usize, x: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) {
      const a = sigmoid_v(v128.load(x + f4(i))), b = sigmoid_v(v128.load(x + f4(i), 16));
      v128.store(out + f4(i), a);
      v128.store(out + f4(i), b, 16);
    }
    for (; i + 4 <= n; i += 4) v128.store(out + f4(i), sigmoid_v(v128.load(x + f4(i))));
  }
  for (; i < n; i++) store<f32>(out + f4(i), sigmoid(load<f32>(x + f4(i))));
}

/** out[n] = tanh(x[n]). */
export function tanh_forward(out: usize, x: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) {
      const a = tanh_v(v128.load(x + f4(i))), b = tanh_v(v128.load(x + f4(i), 16));
      v128.store(out + f4(i), a);
      v128.store(out + f4(i), b, 16);
    }
    for (; i + 4 <= n; i += 4) v128.store(out + f4(i), tanh_v(v128.load(x + f4(i))));
  }
  for (; i < n; i++) store<f32>(out + f4(i), tanh(load<f32>(x + f4(i))));
}
