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
// Keras's (and TF.js's) hard sigmoid: clip(0.2*x + 0.5, 0, 1).
@inline const HS_SLOPE: f32 = 0.2;
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
const KT: usize = memory.data<f32>([LOG2E, ROUND, -LN2_HI, -LN2_LO, C6, C5, C4, C3, C2, 1.0, EXP_MIN, -0.0, -2.0, EXP_MAX,
  HS_SLOPE, 0.5, 0.0]);
@inline const K_LOG2E = 0, K_ROUND = 1, K_LN2_HI = 2, K_LN2_LO = 3, K_C6 = 4, K_C5 = 5, K_C4 = 6, K_C3 = 7;
@inline const K_C2 = 8, K_ONE = 9, K_MIN = 10, K_SIGN = 11, K_M2 = 12, K_MAX = 13, K_SLOPE = 14, K_HALF = 15, K_ZERO = 16;
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

/** dx[n] = dy * s * (1 - s), from the saved output s = sigmoid(x). */
export function sigmoid_backward(dx: usize, dy: usize, s: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const one = one_v();
      const sv = v128.load(s + f4(i));
      v128.store(dx + f4(i), f32x4.mul(v128.load(dy + f4(i)), f32x4.mul(sv, f32x4.sub(one, sv))));
    }
  }
  for (; i < n; i++) {
    const sv = load<f32>(s + f4(i));
    store<f32>(dx + f4(i), load<f32>(dy + f4(i)) * (sv * (1.0 - sv)));
  }
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

/** dx[n] = dy * (1 - t^2), from the saved output t = tanh(x). */
export function tanh_backward(dx: usize, dy: usize, t: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const one = one_v();
      const tv = v128.load(t + f4(i));
      v128.store(dx + f4(i), f32x4.mul(v128.load(dy + f4(i)), f32x4.sub(one, f32x4.mul(tv, tv))));
    }
  }
  for (; i < n; i++) {
    const tv = load<f32>(t + f4(i));
    store<f32>(dx + f4(i), load<f32>(dy + f4(i)) * (1.0 - tv * tv));
  }
}

// ---- hard sigmoid, relu and softmax ---------------------------------------------------------

/**
 * hardSigmoid(x) = min(1, max(0, 0.2x + 0.5)), as TF.js's tf.layers default recurrent activation.
 * A product then a sum, never fused, on every build: the same two float32 roundings as TF.js's
 * mul and add, so every build gives the same bits. pmax/pmin keep NaN.
 */
@inline export function hard_sigmoid_v(x: v128): v128 {
  const v = f32x4.add(f32x4.mul(x, kv(K_SLOPE)), kv(K_HALF));
  return f32x4.pmin(f32x4.pmax(v, kv(K_ZERO)), kv(K_ONE));
}

@inline export function hard_sigmoid(x: f32): f32 {
  let v = x * HS_SLOPE + 0.5;
  v = v < 0 ? 0 : v;
  return v > 1 ? 1 : v;
}

/** The hard sigmoid's derivative from its output s: 0.2 where 0 < s < 1, else 0. */
@inline export function hard_sigmoid_grad_v(s: v128): v128 {
  return v128.and(kv(K_SLOPE), v128.and(f32x4.gt(s, kv(K_ZERO)), f32x4.lt(s, kv(K_ONE))));
}

@inline export function hard_sigmoid_grad(s: f32): f32 {
  return s > 0 && s < 1 ? HS_SLOPE : 0;
}

/** out[n] = hardSigmoid(x[n]) (in place allowed). */
export function hard_sigmoid_forward(out: usize, x: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(out + f4(i), hard_sigmoid_v(v128.load(x + f4(i))));
  }
  for (; i < n; i++) store<f32>(out + f4(i), hard_sigmoid(load<f32>(x + f4(i))));
}

/** out[n] = max(x, 0) (in place allowed); NaN stays NaN. */
export function relu_forward(out: usize, x: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(out + f4(i), f32x4.pmax(v128.load(x + f4(i)), kv(K_ZERO)));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + f4(i));
    store<f32>(out + f4(i), v < 0 ? 0 : v);
  }
}

/** dx[n] = dy where the saved output s > 0, else 0 (torch's rule at 0). In place (dx = dy) allowed. */
export function relu_backward(dx: usize, dy: usize, s: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      v128.store(dx + f4(i), v128.and(v128.load(dy + f4(i)), f32x4.gt(v128.load(s + f4(i)), kv(K_ZERO))));
    }
  }
  for (; i < n; i++) store<f32>(dx + f4(i), load<f32>(s + f4(i)) > 0 ? load<f32>(dy + f4(i)) : 0);
}

/**
 * out[R,C] = softmax of each row of x[R,C] (in place allowed): exp(x - max) / Σ exp(x - max).
 * Every exponent is <= 0, so no row overflows; terms below e^-87 are exactly 0 (exp_neg).
 * A row holding +Inf or only -Inf gives NaN, as torch.softmax does.
 */
export function softmax_forward(out: usize, x: usize, R: i32, C: i32): void {
  for (let r = 0; r < R; r++) {
    const xr = x + f4(r * C), orow = out + f4(r * C);
    const mx = row_max(xr, C);
    let s: f32 = 0, j = 0;
    if (ASC_FEATURE_SIMD) {
      const mv = f32x4.splat(mx);
      let acc = f32x4.splat(0);
      for (; j + 4 <= C; j += 4) {
        const e = exp_neg_v(f32x4.sub(v128.load(xr + f4(j)), mv));
        v128.store(orow + f4(j), e);
        acc = f32x4.add(acc, e);
      }
      s = hsum4(acc);
    }
    for (; j < C; j++) {
      const e = exp_neg(load<f32>(xr + f4(j)) - mx);
      store<f32>(orow + f4(j), e);
      s += e;
    }
    const k: f32 = 1.0 / s;
    j = 0;
    if (ASC_FEATURE_SIMD) {
      const kv4 = f32x4.splat(k);
      for (; j + 4 <= C; j += 4) v128.store(orow + f4(j), f32x4.mul(v128.load(orow + f4(j)), kv4));
    }
    for (; j < C; j++) store<f32>(orow + f4(j), load<f32>(orow + f4(j)) * k);
  }
}

/** dx[R,C] = s ⊙ (dy − Σ_j dy⊙s) per row, from the saved output s. In place (dx = dy) allowed. */
export function softmax_backward(dx: usize, dy: usize, s: usize, R: i32, C: i32): void {
  for (let r = 0; r < R; r++) {
    const o = f4(r * C);
    let d: f32 = 0, j = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; j + 4 <= C; j += 4) acc = madd(v128.load(dy + o + f4(j)), v128.load(s + o + f4(j)), acc);
      d = hsum4(acc);
    }
    for (; j < C; j++) d += load<f32>(dy + o + f4(j)) * load<f32>(s + o + f4(j));
    j = 0;
    if (ASC_FEATURE_SIMD) {
      const dv = f32x4.splat(d);
      for (; j + 4 <= C; j += 4) {
        const p = o + f4(j);
        v128.store(dx + p, f32x4.mul(v128.load(s + p), f32x4.sub(v128.load(dy + p), dv)));
      }
    }
    for (; j < C; j++) {
      const p = o + f4(j);
      store<f32>(dx + p, load<f32>(s + p) * (load<f32>(dy + p) - d));
    }
  }
}

// max of x[0..n), n >= 1; NaN in the row may or may not win (the result is NaN either way).
@inline function row_max(x: usize, n: i32): f32 {
  let mx = load<f32>(x), j = 1;
  if (ASC_FEATURE_SIMD) {
    if (n >= 4) {
      let m4 = v128.load(x);
      for (j = 4; j + 4 <= n; j += 4) m4 = f32x4.pmax(m4, v128.load(x + f4(j)));
      mx = max<f32>(max<f32>(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)),
                    max<f32>(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
    }
  }
  for (; j < n; j++) mx = max<f32>(mx, load<f32>(x + f4(j)));
  return mx;
}

// lanes 0+1+2+3 in that order (the scalar tail then continues the same running sum)
@inline function hsum4(v: v128): f32 {
  return ((f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + f32x4.extract_lane(v, 2)) + f32x4.extract_lane(v, 3);
}
