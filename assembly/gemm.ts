// GEMM for the LSTM's products:  C[M,N] (+)= A[M,K] · B[K,N].
//
// B is read from *panels*: 8 columns wide, K rows deep, each panel contiguous (8 floats a row),
// the last one zero-padded. Weights live in that layout permanently (src/layout.ts), so the
// per-step recurrent product reads them as one sequential stream; gemm_rm packs a row-major B
// (the activations in dW = Xᵀ·dA) block by block first. Contiguous panels matter here: a
// row-major B of width 4H has a power-of-two row stride for common H, and reading 8 floats per
// row maps every row to the same few cache sets (measured: TN dW at 10 GFLOP/s before packing).
//
// A element (i,k) is at a + 4*(i*ars + k*acs): NN uses ars = lda, acs = 1; TN (dW over T·B rows)
// uses ars = 1, acs = lda. C element (i,j) is at c + 4*((j>>3)*cps + i*ldc + (j&7)), so C may be
// row-major (cps = 8, ldc = row stride) or packed like the weights (cps = M*8, ldc = 8).
//
// Blocking: K in KC steps so a 4x8 tile's panel slice (KC*8 floats = 8 KB) stays in L1 while the
// tile sweeps MC rows of A (MC*KC floats = 128 KB, in L2).
// Tiles: 4 rows × 8 columns = 8 accumulators + 2 B vectors + 1 splat, 11 of V8's 16 xmm registers;
// measured at the f32x4 mul+add ceiling with data in L1 (51 GFLOP/s, simd build). Rows left over
// (all of them at B = 1, the streaming step) run 1×16 over two panels (tile1x16, measurements
// there), and a last odd panel 1×8 unrolled 2× over k with 4 accumulators.
import { madd, f4 } from "./vec";

@inline const NR: i32 = 8;
@inline const KC: i32 = 256;
@inline const MC: i32 = 128;
@inline const NC: i32 = 256; // columns of a row-major B packed at a time by gemm_rm

// Static scratch (zero-initialised, not part of any caller's buffers).
const TILE: usize = memory.data(4 * NR * 4, 16); // a partial panel's C tile
const PACK_B: usize = memory.data(KC * NC * 4, 64);

/** Floats a K-row, N-column matrix takes in panel layout. */
@inline export function panel_size(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

/** C (+)= A·B with B in panels (panel p starts at b + 4*p*K*8). accumulate = false overwrites C. */
export function gemm(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32,
                     ars: i32, acs: i32, ldc: i32, cps: i32, accumulate: bool): void {
  assert(M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
  assert(c != 0 && a != 0 && b != 0, "gemm: null pointer");
  if (K == 0) { zero_c(c, M, N, ldc, cps, accumulate); return; }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    block(c, ldc, cps, a + f4(k0 * acs), ars, acs, b + f4(k0 * NR), K * NR, M, N, kc, accumulate || k0 > 0);
  }
}

/** C (+)= A·B with B row-major (row stride ldb floats), packed here block by block. */
export function gemm_rm(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32,
                        ars: i32, acs: i32, ldb: i32, ldc: i32, cps: i32, accumulate: bool): void {
  assert(M >= 0 && N >= 0 && K >= 0 && ldb >= N, "gemm_rm: bad sizes");
  if (K == 0) { zero_c(c, M, N, ldc, cps, accumulate); return; }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let j0 = 0; j0 < N; j0 += NC) {
      const nc = min(NC, N - j0);
      pack_panels(PACK_B, b + f4(k0 * ldb + j0), kc, nc, ldb);
      block(c + f4((j0 / NR) * cps), ldc, cps, a + f4(k0 * acs), ars, acs, PACK_B, kc * NR, M, nc, kc, accumulate || k0 > 0);
    }
  }
}

function zero_c(c: usize, M: i32, N: i32, ldc: i32, cps: i32, accumulate: bool): void {
  if (accumulate) return;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) store<f32>(c + f4((j >> 3) * cps + i * ldc + (j & 7)), 0);
}

// dst panels (stride kc*8) from kc rows × nc columns of a row-major src; the last panel zero-padded.
function pack_panels(dst: usize, src: usize, kc: i32, nc: i32, lds: i32): void {
  for (let j = 0; j < nc; j += NR) {
    const w = min(NR, nc - j);
    let d = dst + f4(j * kc), s = src + f4(j);
    for (let k = 0; k < kc; k++) {
      // Two vector moves, not memory.copy: V8 makes that a call, which cost more than the 32 bytes.
      if (ASC_FEATURE_SIMD && w == NR) { v128.store(d, v128.load(s)); v128.store(d, v128.load(s, 16), 16); }
      else if (w == NR) memory.copy(d, s, NR * 4);
      else { memory.copy(d, s, f4(w)); memory.fill(d + f4(w), 0, f4(NR - w)); }
      d += NR * 4;
      s += f4(lds);
    }
  }
}

// C[M, N] (+)= A[M, kc] · Bp[kc, N]; panel p of Bp at bp + 4*p*bps.
function block(c: usize, ldc: i32, cps: i32, a: usize, ars: i32, acs: i32,
               bp: usize, bps: i32, M: i32, N: i32, kc: i32, acc: bool): void {
  for (let i0 = 0; i0 < M; i0 += MC) {
    const i1 = min(M, i0 + MC), i4 = i0 + ((i1 - i0) & ~3);
    for (let p = 0; p * NR < N; p++) {
      const ncol = min(NR, N - p * NR);
      const pb = bp + f4(p * bps), pc = c + f4(p * cps);
      for (let i = i0; i < i4; i += 4) tile(pc + f4(i * ldc), ldc, a + f4(i * ars), ars, acs, pb, kc, acc, 4, ncol);
    }
    if (i4 == i1) continue;
    // Leftover rows (all of them when M < 4, e.g. the B = 1 step): two full panels at a time.
    let p = 0;
    if (ASC_FEATURE_SIMD) {
      for (; (p + 2) * NR <= N; p += 2) {
        const pb = bp + f4(p * bps), pc = c + f4(p * cps);
        for (let i = i4; i < i1; i++) tile1x16(pc + f4(i * ldc), f4(cps), a + f4(i * ars), acs, pb, f4(bps), kc, acc);
      }
    }
    for (; p * NR < N; p++) {
      const ncol = min(NR, N - p * NR);
      const pb = bp + f4(p * bps), pc = c + f4(p * cps);
      for (let i = i4; i < i1; i++) tile(pc + f4(i * ldc), ldc, a + f4(i * ars), ars, acs, pb, kc, acc, 1, ncol);
    }
  }
}

// One tile of `rows` (4 or 1) × 8. A partial panel (ncol < 8) runs on a copy in TILE so that
// columns past N are neither read from nor written to C; B's padding there is zero.
@inline function tile(c: usize, ldc: i32, a: usize, ars: i32, acs: i32, b: usize, kc: i32,
                      acc: bool, rows: i32, ncol: i32): void {
  if (ncol == NR) {
    if (rows == 4) tile4x8(c, ldc, a, ars, acs, b, kc, acc);
    else tile1x8(c, a, acs, b, kc, acc);
    return;
  }
  for (let r = 0; r < rows; r++) {
    memory.fill(TILE + f4(r * NR), 0, NR * 4);
    if (acc) memory.copy(TILE + f4(r * NR), c + f4(r * ldc), f4(ncol));
  }
  if (rows == 4) tile4x8(TILE, NR, a, ars, acs, b, kc, true);
  else tile1x8(TILE, a, acs, b, kc, true);
  for (let r = 0; r < rows; r++) memory.copy(c + f4(r * ldc), TILE + f4(r * NR), f4(ncol));
}

function tile4x8(c: usize, ldc: i32, a: usize, ars: i32, acs: i32, b: usize, kc: i32, acc: bool): void {
  const sc = f4(ldc), sr = f4(ars), sa = f4(acs);
  if (ASC_FEATURE_SIMD) {
    const c0 = c, c1 = c0 + sc, c2 = c1 + sc, c3 = c2 + sc;
    let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
    let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
    if (acc) {
      x00 = v128.load(c0); x01 = v128.load(c0, 16);
      x10 = v128.load(c1); x11 = v128.load(c1, 16);
      x20 = v128.load(c2); x21 = v128.load(c2, 16);
      x30 = v128.load(c3); x31 = v128.load(c3, 16);
    }
    let pa = a, pb = b;
    for (let k = 0; k < kc; k++) {
      const b0 = v128.load(pb), b1 = v128.load(pb, 16);
      let av = v128.load32_splat(pa);
      x00 = madd(av, b0, x00); x01 = madd(av, b1, x01);
      av = v128.load32_splat(pa + sr);
      x10 = madd(av, b0, x10); x11 = madd(av, b1, x11);
      av = v128.load32_splat(pa + 2 * sr);
      x20 = madd(av, b0, x20); x21 = madd(av, b1, x21);
      av = v128.load32_splat(pa + 3 * sr);
      x30 = madd(av, b0, x30); x31 = madd(av, b1, x31);
      pa += sa;
      pb += NR * 4;
    }
    v128.store(c0, x00); v128.store(c0, x01, 16);
    v128.store(c1, x10); v128.store(c1, x11, 16);
    v128.store(c2, x20); v128.store(c2, x21, 16);
    v128.store(c3, x30); v128.store(c3, x31, 16);
  } else {
    for (let r = 0; r < 4; r++) tile_scalar(c + <usize>r * sc, a + <usize>r * sr, sa, b, kc, acc);
  }
}

@inline function tile1x8(c: usize, a: usize, acs: i32, b: usize, kc: i32, acc: bool): void {
  const sa = f4(acs);
  if (ASC_FEATURE_SIMD) {
    // Two independent accumulator pairs (even and odd k), summed at the end.
    let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
    if (acc) { x0 = v128.load(c); x1 = v128.load(c, 16); }
    let pa = a, pb = b, k = 0;
    for (; k + 2 <= kc; k += 2) {
      const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa + sa);
      x0 = madd(a0, v128.load(pb), x0); x1 = madd(a0, v128.load(pb, 16), x1);
      x2 = madd(a1, v128.load(pb, 32), x2); x3 = madd(a1, v128.load(pb, 48), x3);
      pa += 2 * sa;
      pb += 2 * NR * 4;
    }
    for (; k < kc; k++) {
      const a0 = v128.load32_splat(pa);
      x0 = madd(a0, v128.load(pb), x0); x1 = madd(a0, v128.load(pb, 16), x1);
      pa += sa;
      pb += NR * 4;
    }
    v128.store(c, f32x4.add(x0, x2));
    v128.store(c, f32x4.add(x1, x3), 16);
  } else {
    tile_scalar(c, a, sa, b, kc, acc);
  }
}

// One row × 16 columns: two panels (byte stride sp; their C panels byte stride sc), k unrolled 2×
// with the pair summed before it meets the accumulator: acc += a0·b0 + a1·b1. A single row has no
// A reuse, so the loop is latency-bound on its accumulators; this puts one dependent add per two k on
// each of 4 chains while the products run alongside. V8 issues a loop body's loads first, so what
// must fit its 15 xmm registers is loads + splats + accumulators: 8 + 2 + 4 here.
// Measured (GEMV 1×512×128, relaxed build, GFLOP/s): 1×8 with 4 plain accumulators 38, three panels
// with 6 accumulators 46.5, this 47.9; four panels with 8 accumulators spilled (26.9).
function tile1x16(c: usize, sc: usize, a: usize, acs: i32, b: usize, sp: usize, kc: i32, acc: bool): void {
  const sa = f4(acs), c1 = c + sc;
  let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
  if (acc) { x0 = v128.load(c); x1 = v128.load(c, 16); x2 = v128.load(c1); x3 = v128.load(c1, 16); }
  let pa = a, p0 = b, p1 = b + sp, k = 0;
  for (; k + 2 <= kc; k += 2) {
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa + sa);
    x0 = f32x4.add(x0, madd(a1, v128.load(p0, 32), f32x4.mul(a0, v128.load(p0))));
    x1 = f32x4.add(x1, madd(a1, v128.load(p0, 48), f32x4.mul(a0, v128.load(p0, 16))));
    x2 = f32x4.add(x2, madd(a1, v128.load(p1, 32), f32x4.mul(a0, v128.load(p1))));
    x3 = f32x4.add(x3, madd(a1, v128.load(p1, 48), f32x4.mul(a0, v128.load(p1, 16))));
    pa += 2 * sa; p0 += 2 * NR * 4; p1 += 2 * NR * 4;
  }
  if (k < kc) {
    const a0 = v128.load32_splat(pa);
    x0 = madd(a0, v128.load(p0), x0); x1 = madd(a0, v128.load(p0, 16), x1);
    x2 = madd(a0, v128.load(p1), x2); x3 = madd(a0, v128.load(p1, 16), x3);
  }
  v128.store(c, x0); v128.store(c, x1, 16); v128.store(c1, x2); v128.store(c1, x3, 16);
}

/**
 * One row of the T = 1 pre-activations, fused: c[N] = b1 + b2 + x·Wx + h·Wh, with Wx [Kx,N] and
 * Wh [Kh,N] in panels and N a multiple of 16. One pass over each pair of panels instead of a bias
 * pass and two GEMMs that each read and write c. The adds run in the same order and pairing as
 * bias_rows + gemm + gemm (whose K blocks start at even k), so the result is bit-identical to them.
 */
export function gemv_bias2(c: usize, b1: usize, b2: usize, x: usize, wx: usize, Kx: i32,
                           h: usize, wh: usize, Kh: i32, N: i32): void {
  if (!ASC_FEATURE_SIMD) return;
  assert(N % 16 == 0, "gemv_bias2: N must be a multiple of 16");
  const sx = f4(Kx * NR), sh = f4(Kh * NR);
  for (let j = 0; j < N; j += 16) {
    const o = f4(j);
    v128.store(c + o, f32x4.add(v128.load(b1 + o), v128.load(b2 + o)));
    v128.store(c + o, f32x4.add(v128.load(b1 + o, 16), v128.load(b2 + o, 16)), 16);
    v128.store(c + o, f32x4.add(v128.load(b1 + o, 32), v128.load(b2 + o, 32)), 32);
    v128.store(c + o, f32x4.add(v128.load(b1 + o, 48), v128.load(b2 + o, 48)), 48);
    const p = <usize>(j >> 3);
    tile1x16(c + o, 32, x, 1, wx + p * sx, sx, Kx, true);
    tile1x16(c + o, 32, h, 1, wh + p * sh, sh, Kh, true);
  }
}

// One row of C (8 columns) over a panel: the scalar build's tile, k outer so the panel streams.
@inline function tile_scalar(c: usize, a: usize, sa: usize, b: usize, kc: i32, acc: bool): void {
  if (!acc) memory.fill(c, 0, NR * 4);
  let pa = a, pb = b;
  for (let k = 0; k < kc; k++) {
    const av = load<f32>(pa);
    for (let j = 0; j < NR; j++) store<f32>(c + f4(j), load<f32>(c + f4(j)) + av * load<f32>(pb + f4(j)));
    pa += sa;
    pb += NR * 4;
  }
}

/**
 * dst = srcᵀ, both in panel layout: src has K rows and N columns, dst N rows and K columns.
 * Used once per backward to get W from the stored Wᵀ (not a hot loop).
 */
export function transpose_packed(dst: usize, src: usize, K: i32, N: i32): void {
  memory.fill(dst, 0, f4(panel_size(N, K)));
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const v = load<f32>(src + f4((n >> 3) * K * NR + k * NR + (n & 7)));
      store<f32>(dst + f4((k >> 3) * N * NR + n * NR + (k & 7)), v);
    }
  }
}

/** out[rows,n] (row stride n): every row = b1 + b2. The two PyTorch biases, added once per row. */
export function bias_rows(out: usize, b1: usize, b2: usize, rows: i32, n: i32): void {
  if (rows <= 0) return;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) v128.store(out + f4(j), f32x4.add(v128.load(b1 + f4(j)), v128.load(b2 + f4(j))));
  }
  for (; j < n; j++) store<f32>(out + f4(j), load<f32>(b1 + f4(j)) + load<f32>(b2 + f4(j)));
  const bytes = f4(n);
  for (let r = 1; r < rows; r++) memory.copy(out + <usize>r * bytes, out, bytes);
}

/**
 * out[n] += Σ_r src[r][0..n) (row stride lds), and the same sums into out2 unless it is 0: the bias
 * gradient, and LSTM's second bias, whose gradient is the same. Rows stream in order (4 at a time,
 * added one after another, so the sum is the plain sequential one) with out held in L1. The old
 * column-at-a-time walk read src with a 4 KB stride and took 4.8 ms per bias on M's 3200×1024 dA.
 */
export function colsum_add(out: usize, out2: usize, src: usize, rows: i32, n: i32, lds: i32): void {
  const rs = f4(lds), two = out2 != 0;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const s0 = src + <usize>r * rs, s1 = s0 + rs, s2 = s1 + rs, s3 = s2 + rs;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= n; j += 4) {
        const o = f4(j);
        v128.store(out + o, add4(v128.load(out + o), s0 + o, s1 + o, s2 + o, s3 + o));
        if (two) v128.store(out2 + o, add4(v128.load(out2 + o), s0 + o, s1 + o, s2 + o, s3 + o));
      }
    }
    for (; j < n; j++) {
      const o = f4(j);
      const a = load<f32>(s0 + o), b = load<f32>(s1 + o), c = load<f32>(s2 + o), e = load<f32>(s3 + o);
      store<f32>(out + o, (((load<f32>(out + o) + a) + b) + c) + e);
      if (two) store<f32>(out2 + o, (((load<f32>(out2 + o) + a) + b) + c) + e);
    }
  }
  for (; r < rows; r++) {
    const s0 = src + <usize>r * rs;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= n; j += 4) {
        const o = f4(j), v = v128.load(s0 + o);
        v128.store(out + o, f32x4.add(v128.load(out + o), v));
        if (two) v128.store(out2 + o, f32x4.add(v128.load(out2 + o), v));
      }
    }
    for (; j < n; j++) {
      const o = f4(j), v = load<f32>(s0 + o);
      store<f32>(out + o, load<f32>(out + o) + v);
      if (two) store<f32>(out2 + o, load<f32>(out2 + o) + v);
    }
  }
}

// acc + a + b + c + d, added in that order (the sequential sum of four rows).
@inline function add4(acc: v128, a: usize, b: usize, c: usize, d: usize): v128 {
  return f32x4.add(f32x4.add(f32x4.add(f32x4.add(acc, v128.load(a)), v128.load(b)), v128.load(c)), v128.load(d));
}
