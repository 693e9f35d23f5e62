// A whole sequence through one layer and one direction.
// Shapes: T steps, B batch, In layer input, H hidden, Hout = projSize or H, G = 4H.
// Memory is time-major: x[T][B][In], y[T][B][ldy] (this direction's Hout columns).
// Weights are stored as Wᵀ in 8-column panels (see gemm.ts), so every product is a GEMM over a
// packed B: wih = W_ihᵀ [In,G], whh = W_hhᵀ [Hout,G], whr = W_hrᵀ [H,Hout]. Backward takes the
// PyTorch-orientation copies, also packed (transpose_packed), and writes dW in the panel layout.
// Only the recurrent product h·W_hh (and the projection) stays inside the time loop; the input
// projection, dW_ih, dW_hh, dW_hr and dx are each one GEMM over all T·B rows.
//
// Steps that are not processed, per row (h and c are carried through them unchanged, da = 0,
// dx = 0, and no parameter gradient comes from them), in one of two conventions:
//  - lengths (PyTorch's packed sequences): step t of row b is padding when t >= lengths[b]; its
//    y is 0 and its dy is ignored.
//  - mask (Keras's and TF.js's rnn() with a mask): step t of row b is skipped when mask[t][b] == 0,
//    anywhere in the sequence (pre-padding, post-padding, gaps); its y is the carried h, i.e. the
//    output of the row's last processed step in processing order (h0 if there is none: TF.js's
//    `output = stepOut·mask + states[0]·(1−mask)`; Keras in Python gives 0 there, the same for the
//    usual zero initial state). So its dy is added to the carried dL/dh, which reaches that step.
import { f4, active, copy_rows } from "./vec";
import { gemm, gemm_rm, gemv_bias2, bias_rows, colsum_add, gemm_scratch_size } from "./gemm";
import { barrier, panel_lo, quad_lo } from "./sync";
import { lstm_cell_forward, lstm_cell_backward } from "./lstm_cell";

/**
 * y [T,B,ldy]     out: h_t for this direction (padded steps 0; masked steps the carried h).
 * h [B,Hout], c [B,H]   in: h0, c0; out: hn, cn (the state after each row's last processed step).
 * act [T,B,G]     out: post-activations i, f, g, o.
 * cs, cp [T,B,H], hp [T,B,Hout]  out: c_t, c_{t-1}, h_{t-1} saved for backward, or 0 to skip.
 * m               projection only: m = o⊙tanh(c_t) [T,B,H] with time stride mts floats
 *                 (mts = 0: one [B,H] scratch reused every step). Ignored when whr = 0.
 * x [T,B,ldx]     layer input.
 * wih [In,G], whh [Hout,G] (panels), bih, bhh [G] (either or both 0: no such bias),
 * whr [H,Hout] (panels) or 0, pi/pf/po [H] or pi = 0.
 * lengths i32 [B] or 0; mask i32 [T,B] (nonzero: processed) or 0; not both.
 * reverse: run t = T-1 .. 0. ract: recurrent activation of i, f, o (0 sigmoid, 1 hard sigmoid).
 * sync, nth, tid: this is thread tid of nth running the same call (sync: their barrier words, see
 *                 sync.ts); one thread: 0, 1, 0. Each step: every thread computes its panels of
 *                 the gate pre-activations, then (barrier) its units' cell update, then writes its
 *                 units of h (barrier at the next step, before h is read).
 */
export function lstm_forward(y: usize, ldy: i32, h: usize, c: usize, act: usize,
                             cs: usize, cp: usize, hp: usize, m: usize, mts: i32,
                             x: usize, ldx: i32,
                             wih: usize, whh: usize, bih: usize, bhh: usize, whr: usize,
                             pi: usize, pf: usize, po: usize, lengths: usize, mask: usize,
                             T: i32, B: i32, In: i32, H: i32, Hout: i32, reverse: bool, ract: i32,
                             sync: usize, nth: i32, tid: i32): void {
  assert(T > 0 && B > 0 && In > 0 && H > 0 && Hout > 0, "lstm_forward: sizes must be positive");
  assert(ldy >= Hout && ldx >= In, "lstm_forward: row stride below width");
  assert(whr != 0 || Hout == H, "lstm_forward: Hout != H needs a projection");
  assert(whr == 0 || m != 0, "lstm_forward: projection needs an m buffer");
  assert(lengths == 0 || mask == 0, "lstm_forward: lengths and mask are exclusive");
  assert(nth >= 1 && tid >= 0 && tid < nth && (nth == 1 || sync != 0), "lstm_forward: bad thread arguments");
  const G = 4 * H, TB = T * B;
  // This thread's share: panels [g0,g1) of the G gate columns, units [u0,u1) of the cell update
  // and hidden columns [o0,o1) (the units again without a projection; panels of Hout with one).
  const g0 = panel_lo(G, nth, tid), g1 = panel_lo(G, nth, tid + 1);
  const u0 = quad_lo(H, nth, tid), u1 = quad_lo(H, nth, tid + 1);
  const o0 = whr != 0 ? panel_lo(Hout, nth, tid) : u0, o1 = whr != 0 ? panel_lo(Hout, nth, tid + 1) : u1;
  // A streaming step (one step, a row or three) fuses bias and both products per row (on thread 0
  // alone: the same arithmetic whatever the thread count); else the input projection of every
  // step is one GEMM and only h·W_hh stays in the loop. (gemv_bias2 reads both biases, so a
  // bias-free layer takes the GEMM path.)
  const fused = ASC_FEATURE_SIMD && T == 1 && B < 4 && G % 16 == 0 && bih != 0 && bhh != 0;
  if (!fused && g1 > g0) {
    const a = act + f4(g0);
    gemm(a, x, wih + f4(g0 * In), TB, g1 - g0, In, ldx, 1, G, 8, bias_init(a, bih != 0 ? bih + f4(g0) : 0, bhh != 0 ? bhh + f4(g0) : 0, TB, g1 - g0, G));
  }
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const at = act + f4(t * B * G), yt = y + f4(t * B * ldy);
    if (s > 0 && !barrier(sync, nth, tid)) return; // every thread's units of h_{t-1} are written
    if (hp != 0) copy_rows(hp + f4(t * B * Hout + o0), Hout, h + f4(o0), Hout, B, o1 - o0);
    if (cp != 0) copy_rows(cp + f4(t * B * H + u0), H, c + f4(u0), H, B, u1 - u0);
    if (fused) {
      if (tid == 0) for (let b = 0; b < B; b++) gemv_bias2(at + f4(b * G), bih, bhh, x + f4(b * ldx), wih, In, h + f4(b * Hout), whh, Hout, G);
    } else if (g1 > g0) {
      gemm(at + f4(g0), h, whh + f4(g0 * Hout), B, g1 - g0, Hout, Hout, 1, G, 8, true);
    }
    if (!barrier(sync, nth, tid)) return; // the gates are complete, and h_{t-1} is no longer read
    const cst = cs != 0 ? cs + f4(t * B * H) : 0;
    if (whr != 0) {
      const mt = m + f4(t * mts);
      lstm_cell_forward(mt, H, cst, c, at, pi, pf, po, lengths, mask, t, B, H, u0, u1 - u0, ract);
      if (!barrier(sync, nth, tid)) return; // m is complete
      // rows not processed: m = 0, so y = 0
      if (o1 > o0) gemm(yt + f4(o0), mt, whr + f4(o0 * H), B, o1 - o0, H, H, 1, ldy, 8, false);
    } else {
      lstm_cell_forward(yt, ldy, cst, c, at, pi, pf, po, lengths, mask, t, B, H, u0, u1 - u0, ract);
    }
    copy_active_rows(h + f4(o0), Hout, yt + f4(o0), ldy, B, o1 - o0, lengths, mask, t);
    if (mask != 0) copy_masked_rows(yt + f4(o0), ldy, h + f4(o0), Hout, B, o1 - o0, mask, t); // y_t = carried h
  }
}

/** out[rows,n] (row stride ld) = b1 + b2, either 0 for none; false (nothing written) when both are 0. */
function bias_init(out: usize, b1: usize, b2: usize, rows: i32, n: i32, ld: i32): bool {
  if (b1 != 0 && b2 != 0) bias_rows(out, b1, b2, rows, n, ld);
  else if (b1 != 0 || b2 != 0) copy_rows(out, ld, b1 != 0 ? b1 : b2, 0, rows, n);
  else return false;
  return true;
}

/**
 * Backward of lstm_forward (BPTT). Gradients are added; the caller zeroes them.
 * dx [T,B,ldx]    += dL/dx (0 at padded and masked steps).
 * dh [B,Hout], dc [B,H]   in: dL/dhn, dL/dcn; out: dL/dh0, dL/dc0.
 * dwih [In,G], dwhh [Hout,G], dbih, dbhh [G], dwhr [H,Hout], dpi/dpf/dpo [H]  += parameter grads
 *                 (the 2-D ones in panel layout, like the weights); dbih or dbhh 0: not computed.
 * da [T,B,G]      scratch: dL/d(pre-activations), kept for the weight GEMMs after the loop.
 * dht [T,B,Hout]  scratch, projection only: dL/dh_t.
 * dm [B,H], dhs [B,Hout]  scratch.
 * pack [nth · gemm_scratch_size(T·B, G)]  scratch for the weight-gradient GEMMs (see gemm_rm), a
 *                 share per thread.
 * dy [T,B,ldy]    dL/dy for this direction (ignored at padded steps; at masked ones it joins dL/dh).
 * x, act, cs, cp, hp, m: what lstm_forward saved (m with mts = B*H).
 * wih_t [G,In], whh_t [G,Hout], whr_t [Hout,H] or 0: PyTorch-orientation weights in panels;
 * pi/pf/po, lengths, mask, reverse, ract: as forward.
 * sync, nth, tid: as forward. Each step: every thread adds its units' dL/dh and runs their cell
 *                 backward, then (barrier) computes its panels of dL/dh_{t-1}; after the loop, its
 *                 panels of every weight gradient and of dx.
 */
export function lstm_backward(dx: usize, ldx: i32, dh: usize, dc: usize,
                              dwih: usize, dwhh: usize, dbih: usize, dbhh: usize, dwhr: usize,
                              dpi: usize, dpf: usize, dpo: usize,
                              da: usize, dht: usize, dm: usize, dhs: usize, pack: usize,
                              dy: usize, ldy: i32,
                              x: usize, act: usize, cs: usize, cp: usize, hp: usize, m: usize,
                              wih_t: usize, whh_t: usize, whr_t: usize,
                              pi: usize, pf: usize, po: usize, lengths: usize, mask: usize,
                              T: i32, B: i32, In: i32, H: i32, Hout: i32, reverse: bool, ract: i32,
                              sync: usize, nth: i32, tid: i32): void {
  assert(T > 0 && B > 0 && In > 0 && H > 0 && Hout > 0, "lstm_backward: sizes must be positive");
  assert(lengths == 0 || mask == 0, "lstm_backward: lengths and mask are exclusive");
  assert(cs != 0 && cp != 0 && hp != 0, "lstm_backward: needs the buffers a training forward saved");
  assert(whr_t == 0 || (m != 0 && dht != 0), "lstm_backward: projection needs m and dht");
  assert(nth >= 1 && tid >= 0 && tid < nth && (nth == 1 || sync != 0), "lstm_backward: bad thread arguments");
  const G = 4 * H, TB = T * B, proj = whr_t != 0;
  const u0 = quad_lo(H, nth, tid), u1 = quad_lo(H, nth, tid + 1);
  // Elementwise columns of dL/dh_t (the units again without a projection).
  const e0 = proj ? quad_lo(Hout, nth, tid) : u0, e1 = proj ? quad_lo(Hout, nth, tid + 1) : u1;
  const o0 = panel_lo(Hout, nth, tid), o1 = panel_lo(Hout, nth, tid + 1); // panels of dL/dh_{t-1}
  for (let s = 0; s < T; s++) {
    const t = reverse ? s : T - 1 - s;
    const dat = da + f4(t * B * G), dyt = dy + f4(t * B * ldy);
    if (s > 0 && !barrier(sync, nth, tid)) return; // dL/dh_t is complete
    if (proj) {
      const dhtt = dht + f4(t * B * Hout);
      add_active_rows(dhtt + f4(e0), Hout, dh + f4(e0), Hout, dyt + f4(e0), ldy, B, e1 - e0, lengths, mask, t);
      if (!barrier(sync, nth, tid)) return;
      const q0 = panel_lo(H, nth, tid), q1 = panel_lo(H, nth, tid + 1);
      if (q1 > q0) gemm(dm + f4(q0), dhtt, whr_t + f4(q0 * Hout), B, q1 - q0, Hout, Hout, 1, H, 8, false);
      if (mask != 0) add_masked_rows(dh + f4(e0), Hout, dyt + f4(e0), ldy, B, e1 - e0, mask, t);
      if (!barrier(sync, nth, tid)) return; // dL/dm is complete
    } else {
      add_active_rows(dm + f4(u0), H, dh + f4(u0), Hout, dyt + f4(u0), ldy, B, u1 - u0, lengths, mask, t);
      if (mask != 0) add_masked_rows(dh + f4(u0), Hout, dyt + f4(u0), ldy, B, u1 - u0, mask, t); // y_t was the carried h
    }
    const o = f4(t * B * H);
    lstm_cell_backward(dat, dc, dpi, dpf, dpo, dm, H, act + f4(t * B * G), cs + o, cp + o,
                       pi, pf, po, lengths, mask, t, B, H, u0, u1 - u0, ract);
    if (!barrier(sync, nth, tid)) return; // dL/da_t is complete
    if (o1 > o0) {
      if (lengths == 0 && mask == 0) {
        gemm(dh + f4(o0), dat, whh_t + f4(o0 * G), B, o1 - o0, G, G, 1, Hout, 8, false);
      } else {
        gemm(dhs + f4(o0), dat, whh_t + f4(o0 * G), B, o1 - o0, G, G, 1, Hout, 8, false);
        copy_active_rows(dh + f4(o0), Hout, dhs + f4(o0), Hout, B, o1 - o0, lengths, mask, t);
      }
    }
  }
  // Weight gradients over all T·B rows at once, by panels of their columns; rows not processed
  // have da = 0 and add nothing. dA is complete: every thread passed the loop's last barrier.
  const sc = pack + f4(tid * gemm_scratch_size(TB, G));
  const g0 = panel_lo(G, nth, tid), g1 = panel_lo(G, nth, tid + 1);
  if (g1 > g0) {
    gemm_rm(dwih + f4((g0 >> 3) * In * 8), sc, x, da + f4(g0), In, g1 - g0, TB, 1, ldx, G, 8, In * 8, true);
    gemm_rm(dwhh + f4((g0 >> 3) * Hout * 8), sc, hp, da + f4(g0), Hout, g1 - g0, TB, 1, Hout, G, 8, Hout * 8, true);
    if (dbih != 0 || dbhh != 0) colsum_add(dbih != 0 ? dbih + f4(g0) : dbhh + f4(g0), dbih != 0 && dbhh != 0 ? dbhh + f4(g0) : 0, da + f4(g0), TB, g1 - g0, G);
  }
  if (proj && o1 > o0) gemm_rm(dwhr + f4((o0 >> 3) * H * 8), sc, m, dht + f4(o0), H, o1 - o0, TB, 1, H, Hout, 8, H * 8, true);
  const i0 = panel_lo(In, nth, tid), i1 = panel_lo(In, nth, tid + 1);
  if (i1 > i0) gemm(dx + f4(i0), da, wih_t + f4(i0 * G), TB, i1 - i0, G, G, 1, ldx, 8, true);
}

/** dst[b] = src[b] for rows b processed at step t; other rows keep their carried state. */
function copy_active_rows(dst: usize, ldd: i32, src: usize, lds: i32,
                          B: i32, cols: i32, lengths: usize, mask: usize, t: i32): void {
  if (lengths == 0 && mask == 0) { copy_rows(dst, ldd, src, lds, B, cols); return; }
  for (let b = 0; b < B; b++) {
    if (active(lengths, mask, B, b, t)) memory.copy(dst + f4(b * ldd), src + f4(b * lds), f4(cols));
  }
}

/** dst[b] = src[b] for rows b masked at step t (mask[t][b] == 0). */
function copy_masked_rows(dst: usize, ldd: i32, src: usize, lds: i32, B: i32, cols: i32, mask: usize, t: i32): void {
  for (let b = 0; b < B; b++) {
    if (!active(0, mask, B, b, t)) memory.copy(dst + f4(b * ldd), src + f4(b * lds), f4(cols));
  }
}

/** out[B,ldo] = a[B,lda] + b[B,ldb] (n columns) on processed rows, 0 on the others: dL/dh_t from both paths. */
function add_active_rows(out: usize, ldo: i32, a: usize, lda: i32, bp: usize, ldb: i32,
                         B: i32, n: i32, lengths: usize, mask: usize, t: i32): void {
  if (n <= 0) return;
  for (let r = 0; r < B; r++) {
    const po = out + f4(r * ldo);
    if (!active(lengths, mask, B, r, t)) { memory.fill(po, 0, f4(n)); continue; }
    add_row(po, a + f4(r * lda), bp + f4(r * ldb), n);
  }
}

/** a[b] += src[b] (row strides lda, lds) for rows b masked at step t: a masked y_t is the carried h. */
function add_masked_rows(a: usize, lda: i32, src: usize, lds: i32, B: i32, n: i32, mask: usize, t: i32): void {
  for (let b = 0; b < B; b++) {
    if (!active(0, mask, B, b, t)) add_row(a + f4(b * lda), a + f4(b * lda), src + f4(b * lds), n);
  }
}

/** out[n] = a[n] + b[n] (out may be a). */
@inline function add_row(out: usize, a: usize, b: usize, n: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) v128.store(out + f4(j), f32x4.add(v128.load(a + f4(j)), v128.load(b + f4(j))));
  }
  for (; j < n; j++) store<f32>(out + f4(j), load<f32>(a + f4(j)) + load<f32>(b + f4(j)));
}
