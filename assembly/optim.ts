// Optimizer updates, each one pass over all N parameters of a model: the parameters p, their
// gradients g and the optimizer's moments are blocks with the same layout. The update rules and
// their order of operations follow PyTorch's torch.optim (SGD, Adam, AdamW), so a step matches it
// to float32 round-off. Scalars that depend only on the step count are computed by the caller.
import { f4, madd } from "./vec";

/**
 * SGD with optional momentum (buffer v), dampening, Nesterov and L2 weight decay:
 *   g' = g + wd·p;  v = μ·v + (1−τ)·g' (v = g' on the first step);  g' = nesterov ? g' + μ·v : v;
 *   p -= lr·g'.   With μ = 0, v is not touched (pass v = 0).
 */
export function sgd_step(p: usize, g: usize, v: usize, n: i32, lr: f32, momentum: f32, dampening: f32,
                         nesterov: bool, wd: f32, first: bool): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr), vwd = f32x4.splat(wd), vmu = f32x4.splat(momentum), vdamp = f32x4.splat(1 - dampening);
    for (; i + 4 <= n; i += 4) {
      const o = f4(i);
      const pv = v128.load(p + o);
      let d = madd(vwd, pv, v128.load(g + o));
      if (momentum != 0) {
        const b = first ? d : madd(vmu, v128.load(v + o), f32x4.mul(vdamp, d));
        v128.store(v + o, b);
        d = nesterov ? madd(vmu, b, d) : b;
      }
      v128.store(p + o, f32x4.sub(pv, f32x4.mul(vlr, d)));
    }
  }
  for (; i < n; i++) {
    const o = f4(i);
    const pv = load<f32>(p + o);
    let d = wd * pv + load<f32>(g + o);
    if (momentum != 0) {
      const b = first ? d : momentum * load<f32>(v + o) + (1 - dampening) * d;
      store<f32>(v + o, b);
      d = nesterov ? momentum * b + d : b;
    }
    store<f32>(p + o, pv - lr * d);
  }
}

/**
 * Adam / AdamW. m, v: first and second moments. decoupled (AdamW): p ← p·(1 − lr·wd) first;
 * otherwise g ← g + wd·p (Adam's L2). Then m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
 * p ← p − step·m / (sqrt(v)/bc2 + eps), with step = lr/(1−β1^t) and bc2 = sqrt(1−β2^t).
 * c1 = 1−β1 and c2 = 1−β2 come from the caller in double precision, as PyTorch computes them:
 * 1 − f32(0.999) in f32 is 1.3e-5 off, enough to move a first step by 7e-6 relative.
 */
export function adam_step(p: usize, g: usize, m: usize, v: usize, n: i32, step: f32, b1: f32, c1: f32,
                          b2: f32, c2: f32, eps: f32, bc2: f32, wd: f32, decay: f32, decoupled: bool): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(c1), vb2 = f32x4.splat(b2), vc2 = f32x4.splat(c2);
    const veps = f32x4.splat(eps), vbc2 = f32x4.splat(bc2), vstep = f32x4.splat(step);
    const vwd = f32x4.splat(wd), vdecay = f32x4.splat(decay);
    for (; i + 4 <= n; i += 4) {
      const o = f4(i);
      let pv = v128.load(p + o), gv = v128.load(g + o);
      if (decoupled) pv = f32x4.mul(pv, vdecay);
      else gv = madd(vwd, pv, gv);
      const mv = madd(vb1, v128.load(m + o), f32x4.mul(vc1, gv));
      const vv = madd(vb2, v128.load(v + o), f32x4.mul(vc2, f32x4.mul(gv, gv)));
      v128.store(m + o, mv);
      v128.store(v + o, vv);
      const den = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
      v128.store(p + o, f32x4.sub(pv, f32x4.mul(vstep, f32x4.div(mv, den))));
    }
  }
  for (; i < n; i++) {
    const o = f4(i);
    let pv = load<f32>(p + o), gv = load<f32>(g + o);
    if (decoupled) pv = pv * decay;
    else gv = wd * pv + gv;
    const mv = b1 * load<f32>(m + o) + c1 * gv;
    const vv = b2 * load<f32>(v + o) + c2 * (gv * gv);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(p + o, pv - step * (mv / (sqrt<f32>(vv) / bc2 + eps)));
  }
}

/**
 * Orthonormalise the rows of q [n, len] in place (n <= len), by modified Gram-Schmidt run twice
 * per row ("twice is enough": the second pass restores orthogonality lost to round-off).
 * Used for the orthogonal recurrent initialisation; O(n²·len) with SIMD dot products and axpys.
 */
export function orthonormalize_rows(q: usize, n: i32, len: i32): void {
  for (let i = 0; i < n; i++) {
    const qi = q + f4(i * len);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const qj = q + f4(j * len);
        axpy(qi, qj, -dot(qi, qj, len), len);
      }
    }
    const nrm = Math.sqrt(dot(qi, qi, len));
    scale_row(qi, nrm > 0 ? <f32>(1 / nrm) : 0, len);
  }
}

function dot(a: usize, b: usize, n: i32): f32 {
  let i = 0, s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let x0 = f32x4.splat(0), x1 = f32x4.splat(0);
    for (; i + 8 <= n; i += 8) {
      x0 = madd(v128.load(a + f4(i)), v128.load(b + f4(i)), x0);
      x1 = madd(v128.load(a + f4(i), 16), v128.load(b + f4(i), 16), x1);
    }
    const x = f32x4.add(x0, x1);
    s = f32x4.extract_lane(x, 0) + f32x4.extract_lane(x, 1) + f32x4.extract_lane(x, 2) + f32x4.extract_lane(x, 3);
  }
  for (; i < n; i++) s += load<f32>(a + f4(i)) * load<f32>(b + f4(i));
  return s;
}

// y += k·x
function axpy(y: usize, x: usize, k: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const kv = f32x4.splat(k);
    for (; i + 4 <= n; i += 4) v128.store(y + f4(i), madd(kv, v128.load(x + f4(i)), v128.load(y + f4(i))));
  }
  for (; i < n; i++) store<f32>(y + f4(i), k * load<f32>(x + f4(i)) + load<f32>(y + f4(i)));
}

function scale_row(y: usize, k: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const kv = f32x4.splat(k);
    for (; i + 4 <= n; i += 4) v128.store(y + f4(i), f32x4.mul(v128.load(y + f4(i)), kv));
  }
  for (; i < n; i++) store<f32>(y + f4(i), load<f32>(y + f4(i)) * k);
}
