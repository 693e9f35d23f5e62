// One LSTM time step over a batch: the gate nonlinearities, peepholes and cell update, fused.
// Shapes: B batch, H hidden, G = 4H; a row of G holds the gate blocks i, f, g, o.
//   i = σ(a_i + p_i⊙c_{t-1})   f = σ(a_f + p_f⊙c_{t-1})   g = tanh(a_g)
//   c_t = f⊙c_{t-1} + i⊙g       o = σ(a_o + p_o⊙c_t)       m = o⊙tanh(c_t)
// σ is the recurrent activation `ract`: RACT_SIGMOID (0), or RACT_HARD (1), Keras's hard sigmoid
// clip(0.2x + 0.5, 0, 1), the default of TF.js's tf.layers.lstm.
// Rows past their sequence length (lengths[b] <= t) or masked at t (mask[t][b] == 0) are not
// processed: the state is carried unchanged and every recorded value here is 0.
import { madd, f4, active, zero_row } from "./vec";
import { tanh, tanh_v, sigmoid_forward, tanh_forward, one_v, hard_sigmoid_forward, hard_sigmoid_grad, hard_sigmoid_grad_v } from "./activations";

/** Recurrent activations (the `ract` argument). */
@inline export const RACT_SIGMOID: i32 = 0;
@inline export const RACT_HARD: i32 = 1;

/**
 * Units [u0, u0+n) of every row (a thread's share; the whole layer is u0 = 0, n = H).
 * m [B,ldm]  out: o⊙tanh(c_t); rows not processed 0.
 * cs [B,H]   out: c_t saved for backward and gate inspection, or 0 to skip; rows not processed 0.
 * c [B,H]    in: c_{t-1}; out: c_t (rows not processed keep c_{t-1}).
 * act [B,G]  in: pre-activations (biases and both products added); out: i, f, g, o.
 * pi, pf, po [H] peepholes, or pi = 0 for none. lengths i32 [B] or 0; mask i32 [T,B] or 0.
 * ract: RACT_SIGMOID or RACT_HARD for i, f, o.
 */
export function lstm_cell_forward(m: usize, ldm: i32, cs: usize, c: usize, act: usize,
                                  pi: usize, pf: usize, po: usize, lengths: usize, mask: usize,
                                  t: i32, B: i32, H: i32, u0: i32, n: i32, ract: i32): void {
  assert(B > 0 && H > 0 && ldm >= H && u0 >= 0 && u0 + n <= H, "lstm_cell_forward: bad sizes");
  assert(ract == RACT_SIGMOID || ract == RACT_HARD, "lstm_cell_forward: unknown recurrent activation");
  if (n <= 0) return;
  const G = 4 * H, hard = ract == RACT_HARD, u = f4(u0), hb = f4(H);
  for (let b = 0; b < B; b++) {
    const ar = act + f4(b * G) + u, cr = c + f4(b * H) + u, mr = m + f4(b * ldm) + u;
    const csr = cs != 0 ? cs + f4(b * H) + u : 0;
    if (!active(lengths, mask, B, b, t)) {
      for (let q = 0; q < 4; q++) zero_row(ar + q * hb, n);
      zero_row(mr, n);
      if (csr != 0) zero_row(csr, n);
      continue;
    }
    if (pi != 0) cell_row_forward(mr, csr, cr, ar, pi + u, pf + u, po + u, n, H, true, hard);
    else cell_row_forward(mr, csr, cr, ar, 0, 0, 0, n, H, false, hard);
  }
}

// The row runs as a few short vector passes rather than one loop doing all five activations: that
// loop kept ~20 vectors live and V8 spilled them (242 stack accesses in it; measured 950 ns per
// 128-unit row, simd build). peep is a constant at each call site, so each copy is specialised;
// hard only picks which whole-row activation is called, two branches a row, outside every loop.
// n units; the gate blocks are H apart. Every pass runs over the n units of one block, so a unit's
// element takes the same SIMD lane or scalar tail whatever share of the row this call has.
@inline function cell_row_forward(mr: usize, csr: usize, cr: usize, ar: usize,
                                  pi: usize, pf: usize, po: usize, n: i32, H: i32, peep: bool, hard: bool): void {
  const hb = f4(H);
  if (peep) {
    add_mul(ar, pi, cr, n); // a_i += p_i⊙c_{t-1}
    add_mul(ar + hb, pf, cr, n); // a_f += p_f⊙c_{t-1}
  }
  if (hard) { hard_sigmoid_forward(ar, ar, n); hard_sigmoid_forward(ar + hb, ar + hb, n); } // i, f
  else { sigmoid_forward(ar, ar, n); sigmoid_forward(ar + hb, ar + hb, n); }
  tanh_forward(ar + 2 * hb, ar + 2 * hb, n); // g
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      const o4 = f4(j), p = ar + o4;
      const cn = madd(v128.load(p + hb), v128.load(cr + o4), f32x4.mul(v128.load(p), v128.load(p + 2 * hb)));
      v128.store(cr + o4, cn);
      if (csr != 0) v128.store(csr + o4, cn);
      if (peep) v128.store(p + 3 * hb, madd(v128.load(po + o4), cn, v128.load(p + 3 * hb)));
    }
  }
  for (; j < n; j++) {
    const o4 = f4(j), p = ar + o4;
    const cn = load<f32>(p + hb) * load<f32>(cr + o4) + load<f32>(p) * load<f32>(p + 2 * hb);
    store<f32>(cr + o4, cn);
    if (csr != 0) store<f32>(csr + o4, cn);
    if (peep) store<f32>(p + 3 * hb, load<f32>(po + o4) * cn + load<f32>(p + 3 * hb));
  }
  if (hard) hard_sigmoid_forward(ar + 3 * hb, ar + 3 * hb, n); // o
  else sigmoid_forward(ar + 3 * hb, ar + 3 * hb, n);
  j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      const o4 = f4(j);
      v128.store(mr + o4, f32x4.mul(v128.load(ar + 3 * hb + o4), tanh_v(v128.load(cr + o4))));
    }
  }
  for (; j < n; j++) store<f32>(mr + f4(j), load<f32>(ar + 3 * hb + f4(j)) * tanh(load<f32>(cr + f4(j))));
}

// a[n] += p[n] ⊙ c[n]
@inline function add_mul(a: usize, p: usize, c: usize, n: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) v128.store(a + f4(j), madd(v128.load(p + f4(j)), v128.load(c + f4(j)), v128.load(a + f4(j))));
  }
  for (; j < n; j++) store<f32>(a + f4(j), load<f32>(p + f4(j)) * load<f32>(c + f4(j)) + load<f32>(a + f4(j)));
}

/**
 * Backward of lstm_cell_forward. Derivatives come from the saved outputs: 1−tanh², and σ(1−σ)
 * (sigmoid) or 0.2 where 0 < σ < 1 (hard sigmoid).
 * da [B,G]   out: dL/d(pre-activations) i, f, g, o; rows not processed 0.
 * dc [B,H]   in: dL/dc_t from later steps; out: dL/dc_{t-1} (rows not processed unchanged).
 * dpi, dpf, dpo [H] += peephole gradients (only when pi != 0).
 * dm [B,ldm] in: dL/dm_t.
 * act [B,G] saved i, f, g, o; cs [B,H] saved c_t; cp [B,H] saved c_{t-1}.
 * lengths, mask, ract: as forward.
 */
export function lstm_cell_backward(da: usize, dc: usize, dpi: usize, dpf: usize, dpo: usize,
                                   dm: usize, ldm: i32, act: usize, cs: usize, cp: usize,
                                   pi: usize, pf: usize, po: usize, lengths: usize, mask: usize,
                                   t: i32, B: i32, H: i32, u0: i32, n: i32, ract: i32): void {
  assert(B > 0 && H > 0 && ldm >= H && u0 >= 0 && u0 + n <= H, "lstm_cell_backward: bad sizes");
  assert(ract == RACT_SIGMOID || ract == RACT_HARD, "lstm_cell_backward: unknown recurrent activation");
  if (n <= 0) return;
  const G = 4 * H, u = f4(u0), hb = f4(H);
  for (let b = 0; b < B; b++) {
    const dar = da + f4(b * G) + u;
    if (!active(lengths, mask, B, b, t)) {
      for (let q = 0; q < 4; q++) zero_row(dar + q * hb, n);
      continue;
    }
    const dcr = dc + f4(b * H) + u, dmr = dm + f4(b * ldm) + u, ar = act + f4(b * G) + u;
    const csr = cs + f4(b * H) + u, cpr = cp + f4(b * H) + u;
    // Four specialised copies: the gate derivative sits in the inner loop.
    if (ract == RACT_HARD) {
      if (pi != 0) cell_row_backward(dar, dcr, dpi + u, dpf + u, dpo + u, dmr, ar, csr, cpr, pi + u, pf + u, po + u, n, H, true, true);
      else cell_row_backward(dar, dcr, 0, 0, 0, dmr, ar, csr, cpr, 0, 0, 0, n, H, false, true);
    } else {
      if (pi != 0) cell_row_backward(dar, dcr, dpi + u, dpf + u, dpo + u, dmr, ar, csr, cpr, pi + u, pf + u, po + u, n, H, true, false);
      else cell_row_backward(dar, dcr, 0, 0, 0, dmr, ar, csr, cpr, 0, 0, 0, n, H, false, false);
    }
  }
}

// σ'(a) from σ's saved output s, for the recurrent activation picked at compile time.
@inline function ract_grad_v(s: v128, one: v128, hard: bool): v128 {
  return hard ? hard_sigmoid_grad_v(s) : f32x4.mul(s, f32x4.sub(one, s));
}
@inline function ract_grad(s: f32, hard: bool): f32 {
  return hard ? hard_sigmoid_grad(s) : s * (1.0 - s);
}

@inline function cell_row_backward(dar: usize, dcr: usize, dpi: usize, dpf: usize, dpo: usize,
                                   dmr: usize, ar: usize, csr: usize, cpr: usize,
                                   pi: usize, pf: usize, po: usize, n: i32, H: i32, peep: bool, hard: bool): void {
  const hb = f4(H);
  // tanh(c_t) goes first into da's o block, where each element is read just before dao replaces it:
  // a separate pass keeps the main loop's live vectors few enough for V8's registers.
  tanh_forward(dar + 3 * hb, csr, n);
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      const one = one_v();
      const o4 = f4(j);
      const p = ar + o4;
      const i = v128.load(p), f = v128.load(p + hb), g = v128.load(p + 2 * hb), o = v128.load(p + 3 * hb);
      const c = v128.load(csr + o4), cp = v128.load(cpr + o4);
      const dm = v128.load(dmr + o4);
      const tc = v128.load(dar + 3 * hb + o4);
      const dao = f32x4.mul(f32x4.mul(dm, tc), ract_grad_v(o, one, hard));
      let dct = madd(f32x4.mul(dm, o), f32x4.sub(one, f32x4.mul(tc, tc)), v128.load(dcr + o4));
      if (peep) dct = madd(dao, v128.load(po + o4), dct);
      const dai = f32x4.mul(f32x4.mul(dct, g), ract_grad_v(i, one, hard));
      const dag = f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g)));
      const daf = f32x4.mul(f32x4.mul(dct, cp), ract_grad_v(f, one, hard));
      let dcn = f32x4.mul(dct, f);
      if (peep) {
        dcn = madd(dai, v128.load(pi + o4), dcn);
        dcn = madd(daf, v128.load(pf + o4), dcn);
        v128.store(dpi + o4, madd(dai, cp, v128.load(dpi + o4)));
        v128.store(dpf + o4, madd(daf, cp, v128.load(dpf + o4)));
        v128.store(dpo + o4, madd(dao, c, v128.load(dpo + o4)));
      }
      const q = dar + o4;
      v128.store(q, dai); v128.store(q + hb, daf); v128.store(q + 2 * hb, dag); v128.store(q + 3 * hb, dao);
      v128.store(dcr + o4, dcn);
    }
  }
  for (; j < n; j++) {
    const o4 = f4(j);
    const p = ar + o4;
    const i = load<f32>(p), f = load<f32>(p + hb), g = load<f32>(p + 2 * hb), o = load<f32>(p + 3 * hb);
    const c = load<f32>(csr + o4), cp = load<f32>(cpr + o4);
    const dm = load<f32>(dmr + o4);
    const tc = load<f32>(dar + 3 * hb + o4);
    const dao = (dm * tc) * ract_grad(o, hard);
    let dct = (dm * o) * (1.0 - tc * tc) + load<f32>(dcr + o4);
    if (peep) dct = dao * load<f32>(po + o4) + dct;
    const dai = (dct * g) * ract_grad(i, hard);
    const dag = (dct * i) * (1.0 - g * g);
    const daf = (dct * cp) * ract_grad(f, hard);
    let dcn = dct * f;
    if (peep) {
      dcn = dai * load<f32>(pi + o4) + dcn;
      dcn = daf * load<f32>(pf + o4) + dcn;
      store<f32>(dpi + o4, dai * cp + load<f32>(dpi + o4));
      store<f32>(dpf + o4, daf * cp + load<f32>(dpf + o4));
      store<f32>(dpo + o4, dao * c + load<f32>(dpo + o4));
    }
    const q = dar + o4;
    store<f32>(q, dai); store<f32>(q + hb, daf); store<f32>(q + 2 * hb, dag); store<f32>(q + 3 * hb, dao);
    store<f32>(dcr + o4, dcn);
  }
}
