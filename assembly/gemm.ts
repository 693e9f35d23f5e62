// GEMM for the LSTM's products:  C[M,N] (+)= A[M,K] · B[K,N].
//
// B is read from *panels*: 8 columns wide, K rows deep, each panel contiguous (8 floats a row),
// the last one zero-padded. Weights live in that layout permanently (src/layout.ts), so the
// per-step recurrent product reads them as one sequential stream; gemm_rm packs a row-major B
// (the activations in dW = Xᵀ·dA) block by block first, into scratch the caller passes in. Contiguous
// panels matter here: a row-major B of width 4H has a power-of-two row stride for common H, and
// reading 8 floats per row maps every row to the same few cache sets (measured: TN dW at 10 GFLOP/s
// before packing).
//
// A element (i,k) is at a + 4*(i*ars + k*acs): NN uses ars = lda, acs = 1; TN (dW over T·B rows)
// uses ars = 1, acs = lda. C element (i,j) is at c + 4*((j>>3)*cps + i*ldc + (j&7)), so C may be
// row-major (cps = 8, ldc = row stride) or packed like the weights (cps = M*8, ldc = 8).
//
// Column ranges (how threads split a GEMM): every element's sum is the same sequence of operations
// whichever panels surround it, so columns [j0, j1) with j0 a multiple of 8 can run as a call of their
// own, bit-identical to the whole: gemm(c + 4*(j0/8)*cps, a, b + 4*j0*K, M, j1 - j0, K, …), or for
// gemm_rm b + 4*j0 with the same ldb. (Rows do not split that freely: single leftover rows pair
// their k steps differently from the row tiles.) The kernels keep no state; scratch is passed in.
//
// Blocking: K in KC steps so a tile's panel slice (KC*8 floats = 8 KB) stays in L1 while the tiles
// sweep MC rows of A (MC*KC floats = 128 KB, in L2).
// Tiles: MR rows × 8 columns, then 4 × 8 for the rows they leave; each k step loads one B row (2
// vectors) and splats one A element per row. V8 11.3 compiles the 4 × 8 step to 36 instructions:
// 8 mul + 8 add, 6 loads and 14 of address arithmetic and loop control, and runs about 6 a cycle,
// so the loop is bound by instruction dispatch. A taller tile spreads the fixed part over more
// multiply-adds (5 × 8 with mul + add: 42 for 10; 6 × 8 with relaxed FMA: 37 for 12) while
// everything live fits V8's 15 usable xmm registers: 2 accumulators a row, the B vectors, the splat
// in use and, without FMA, the product (5 × 8: 14; 6 × 8 FMA: 15). 6 × 8 with mul + add spills, as
// does unrolling k by 2. Measured gains over 4 × 8: README, Performance.
import { madd, f4, copy_rows } from "./vec";

@inline const NR: i32 = 8;
@inline const KC: i32 = 256;
@inline const MC: i32 = 128;
@inline const NC: i32 = 256; // columns of a row-major B packed at a time by gemm_rm
// Rows of the tall tile: 6 where madd is one relaxed FMA, 5 with a separate multiply and add.
@inline const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;

/** Floats a K-row, N-column matrix takes in panel layout. */
@inline export function panel_size(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

/** Floats of scratch gemm_rm needs for a B of K rows and N columns: one packed block of B. */
export function gemm_scratch_size(K: i32, N: i32): i32 {
  return K <= 0 || N <= 0 ? 0 : panel_size(min(K, KC), min(N, NC));
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

/**
 * C (+)= A·B with B row-major (row stride ldb floats), packed block by block into
 * pack [gemm_scratch_size(K, N) floats, 16-byte aligned], which is scratch.
 */
export function gemm_rm(c: usize, pack: usize, a: usize, b: usize, M: i32, N: i32, K: i32,
                        ars: i32, acs: i32, ldb: i32, ldc: i32, cps: i32, accumulate: bool): void {
  assert(M >= 0 && N >= 0 && K >= 0 && ldb >= N, "gemm_rm: bad sizes");
  assert(pack != 0 || K == 0 || N == 0, "gemm_rm: no scratch");
  if (M == 0 || N == 0) return;
  if (K == 0) { zero_c(c, M, N, ldc, cps, accumulate); return; }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let j0 = 0; j0 < N; j0 += NC) {
      const nc = min(NC, N - j0);
      pack_panels(pack, b + f4(k0 * ldb + j0), kc, nc, ldb);
      block(c + f4((j0 / NR) * cps), ldc, cps, a + f4(k0 * acs), ars, acs, pack, kc * NR, M, nc, kc, accumulate || k0 > 0);
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

// C[M, N] (+)= A[M, kc] · Bp[kc, N]; panel p of Bp at bp + 4*p*bps. Inlined into gemm and gemm_rm so
// that each tile function has two callers: binaryen inlines a function called once, and a tile
// inlined into this loop nest spilled its accumulators.
@inline function block(c: usize, ldc: i32, cps: i32, a: usize, ars: i32, acs: i32,
                       bp: usize, bps: i32, M: i32, N: i32, kc: i32, acc: bool): void {
  if (!ASC_FEATURE_SIMD) { block_scalar(c, ldc, cps, a, ars, acs, bp, bps, M, N, kc, acc); return; }
  for (let i0 = 0; i0 < M; i0 += MC) {
    const i1 = min(M, i0 + MC);
    // Row tiles: tall ones first, then 4-row ones, so that at most 3 rows are left over.
    const it = i0 + tall_tiles(i1 - i0) * MR, i4 = it + ((i1 - it) & ~3);
    for (let p = 0; p * NR < N; p++) {
      const ncol = min(NR, N - p * NR);
      const pb = bp + f4(p * bps), pc = c + f4(p * cps);
      if (ncol == NR) {
        for (let i = i0; i < it; i += MR) tile_tall(pc + f4(i * ldc), ldc, a + f4(i * ars), ars, acs, pb, kc, acc);
        for (let i = it; i < i4; i += 4) tile4x8(pc + f4(i * ldc), ldc, a + f4(i * ars), ars, acs, pb, kc, acc);
      } else {
        for (let i = i0; i < it; i += MR) tile_edge(pc + f4(i * ldc), ldc, a + f4(i * ars), ars, acs, pb, kc, acc, ncol, MR);
        for (let i = it; i < i4; i += 4) tile_edge(pc + f4(i * ldc), ldc, a + f4(i * ars), ars, acs, pb, kc, acc, ncol, 4);
      }
    }
    if (i4 == i1) continue;
    // Leftover rows (all of them when M < 4, e.g. the B = 1 step): two full panels at a time.
    let p = 0;
    for (; (p + 2) * NR <= N; p += 2) {
      const pb = bp + f4(p * bps), pc = c + f4(p * cps);
      for (let i = i4; i < i1; i++) tile1x16(pc + f4(i * ldc), f4(cps), a + f4(i * ars), acs, pb, f4(bps), kc, acc);
    }
    for (; p * NR < N; p++) {
      const ncol = min(NR, N - p * NR);
      const pb = bp + f4(p * bps), pc = c + f4(p * cps);
      for (let i = i4; i < i1; i++) tile1x8(pc + f4(i * ldc), a + f4(i * ars), acs, pb, kc, acc, ncol);
    }
  }
}

// The scalar build's block: every row on its own, panel by panel.
function block_scalar(c: usize, ldc: i32, cps: i32, a: usize, ars: i32, acs: i32,
                      bp: usize, bps: i32, M: i32, N: i32, kc: i32, acc: bool): void {
  for (let i0 = 0; i0 < M; i0 += MC) {
    const i1 = min(M, i0 + MC);
    for (let p = 0; p * NR < N; p++) {
      const ncol = min(NR, N - p * NR);
      const pb = bp + f4(p * bps), pc = c + f4(p * cps);
      for (let i = i0; i < i1; i++) row_scalar(pc + f4(i * ldc), a + f4(i * ars), f4(acs), pb, kc, acc, ncol);
    }
  }
}

// How many MR-row tiles to cut from R rows: as many as possible, except that up to three of them
// are traded for 4-row tiles when that leaves fewer single rows (R = 32, MR = 5: 4 tall + 3 of 4).
function tall_tiles(R: i32): i32 {
  const t = R / MR;
  let best = t, left = (R - t * MR) & 3;
  for (let u = t - 1; u >= 0 && u >= t - 3; u--) {
    const l = (R - u * MR) & 3;
    if (l < left) { best = u; left = l; }
  }
  return best;
}

// Columns [j, j+4) of a C row with ncol valid columns (j = 0 or 4). A partial panel (ncol < 8) is
// read and written lane by lane, so columns past N are never touched; B's padding there is zero.
@inline function load_c(p: usize, ncol: i32, j: i32): v128 {
  const q = p + f4(j), n = ncol - j;
  if (n >= 4) return v128.load(q);
  let v = f32x4.splat(0);
  if (n > 0) v = v128.load32_lane(q, v, 0);
  if (n > 1) v = v128.load32_lane(q, v, 1, 4);
  if (n > 2) v = v128.load32_lane(q, v, 2, 8);
  return v;
}

@inline function store_c(p: usize, v: v128, ncol: i32, j: i32): void {
  const q = p + f4(j), n = ncol - j;
  if (n >= 4) { v128.store(q, v); return; }
  if (n > 0) v128.store32_lane(q, v, 0);
  if (n > 1) v128.store32_lane(q, v, 1, 4);
  if (n > 2) v128.store32_lane(q, v, 2, 8);
}

// A tile of `rows` (1 to 6, a constant at each call) × 8 columns, ncol of them valid. Each
// accumulator adds its products in k order, one madd a step, whatever the tile's height.
@inline function tile_rows(c: usize, ldc: i32, a: usize, ars: i32, acs: i32, b: usize, kc: i32,
                           acc: bool, ncol: i32, rows: i32): void {
  const sc = f4(ldc), sr = f4(ars), sa = f4(acs);
  const c0 = c, c1 = c0 + sc, c2 = c1 + sc, c3 = c2 + sc, c4 = c3 + sc, c5 = c4 + sc;
  let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
  let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
  let x40 = f32x4.splat(0), x41 = f32x4.splat(0), x50 = f32x4.splat(0), x51 = f32x4.splat(0);
  if (acc) {
    x00 = load_c(c0, ncol, 0); x01 = load_c(c0, ncol, 4);
    if (rows > 1) { x10 = load_c(c1, ncol, 0); x11 = load_c(c1, ncol, 4); }
    if (rows > 2) { x20 = load_c(c2, ncol, 0); x21 = load_c(c2, ncol, 4); }
    if (rows > 3) { x30 = load_c(c3, ncol, 0); x31 = load_c(c3, ncol, 4); }
    if (rows > 4) { x40 = load_c(c4, ncol, 0); x41 = load_c(c4, ncol, 4); }
    if (rows > 5) { x50 = load_c(c5, ncol, 0); x51 = load_c(c5, ncol, 4); }
  }
  let pa = a, pb = b;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    x00 = madd(av, b0, x00); x01 = madd(av, b1, x01);
    if (rows > 1) {
      av = v128.load32_splat(pa + sr);
      x10 = madd(av, b0, x10); x11 = madd(av, b1, x11);
    }
    if (rows > 2) {
      av = v128.load32_splat(pa + 2 * sr);
      x20 = madd(av, b0, x20); x21 = madd(av, b1, x21);
    }
    if (rows > 3) {
      av = v128.load32_splat(pa + 3 * sr);
      x30 = madd(av, b0, x30); x31 = madd(av, b1, x31);
    }
    if (rows > 4) {
      av = v128.load32_splat(pa + 4 * sr);
      x40 = madd(av, b0, x40); x41 = madd(av, b1, x41);
    }
    if (rows > 5) {
      av = v128.load32_splat(pa + 5 * sr);
      x50 = madd(av, b0, x50); x51 = madd(av, b1, x51);
    }
    pa += sa;
    pb += NR * 4;
  }
  store_c(c0, x00, ncol, 0); store_c(c0, x01, ncol, 4);
  if (rows > 1) { store_c(c1, x10, ncol, 0); store_c(c1, x11, ncol, 4); }
  if (rows > 2) { store_c(c2, x20, ncol, 0); store_c(c2, x21, ncol, 4); }
  if (rows > 3) { store_c(c3, x30, ncol, 0); store_c(c3, x31, ncol, 4); }
  if (rows > 4) { store_c(c4, x40, ncol, 0); store_c(c4, x41, ncol, 4); }
  if (rows > 5) { store_c(c5, x50, ncol, 0); store_c(c5, x51, ncol, 4); }
}

// Full panels: C is loaded and stored as whole vectors.
function tile_tall(c: usize, ldc: i32, a: usize, ars: i32, acs: i32, b: usize, kc: i32, acc: bool): void {
  tile_rows(c, ldc, a, ars, acs, b, kc, acc, NR, MR);
}

function tile4x8(c: usize, ldc: i32, a: usize, ars: i32, acs: i32, b: usize, kc: i32, acc: bool): void {
  tile_rows(c, ldc, a, ars, acs, b, kc, acc, NR, 4);
}

// The last panel when it is partial (ncol < 8), rows = MR or 4. A function of its own: lane stores
// after a loop make V8 issue all of the loop's loads first, so the full-panel tiles must not contain
// them, and a tall tile is run as 4 rows and MR - 4 (the same sums) because 5 rows spilled here.
function tile_edge(c: usize, ldc: i32, a: usize, ars: i32, acs: i32, b: usize, kc: i32, acc: bool, ncol: i32, rows: i32): void {
  tile_rows(c, ldc, a, ars, acs, b, kc, acc, ncol, 4);
  if (rows > 4) tile_rows(c + f4(4 * ldc), ldc, a + f4(4 * ars), ars, acs, b, kc, acc, ncol, MR - 4);
}

// One row × 8 columns (ncol valid), k unrolled 2× and paired like tile1x16, so a row's result does
// not depend on whether its panel ran here or there: acc += a0·b0 + a1·b1.
function tile1x8(c: usize, a: usize, acs: i32, b: usize, kc: i32, acc: bool, ncol: i32): void {
  const sa = f4(acs);
  let x0 = f32x4.splat(0), x1 = f32x4.splat(0);
  if (acc) { x0 = load_c(c, ncol, 0); x1 = load_c(c, ncol, 4); }
  let pa = a, pb = b, k = 0;
  for (; k + 2 <= kc; k += 2) {
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa + sa);
    x0 = f32x4.add(x0, madd(a1, v128.load(pb, 32), f32x4.mul(a0, v128.load(pb))));
    x1 = f32x4.add(x1, madd(a1, v128.load(pb, 48), f32x4.mul(a0, v128.load(pb, 16))));
    pa += 2 * sa;
    pb += 2 * NR * 4;
  }
  if (k < kc) {
    const a0 = v128.load32_splat(pa);
    x0 = madd(a0, v128.load(pb), x0); x1 = madd(a0, v128.load(pb, 16), x1);
  }
  store_c(c, x0, ncol, 0); store_c(c, x1, ncol, 4);
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

// One row of C (ncol of 8 columns) over a panel: the scalar build's tile, k outer so the panel
// streams. A full panel gets its own copy with the constant width, which the compiler unrolls.
@inline function row_scalar(c: usize, a: usize, sa: usize, b: usize, kc: i32, acc: bool, ncol: i32): void {
  if (ncol == NR) row_scalar_n(c, a, sa, b, kc, acc, NR);
  else row_scalar_n(c, a, sa, b, kc, acc, ncol);
}

@inline function row_scalar_n(c: usize, a: usize, sa: usize, b: usize, kc: i32, acc: bool, ncol: i32): void {
  if (!acc) memory.fill(c, 0, f4(ncol));
  let pa = a, pb = b;
  for (let k = 0; k < kc; k++) {
    const av = load<f32>(pa);
    for (let j = 0; j < ncol; j++) store<f32>(c + f4(j), load<f32>(c + f4(j)) + av * load<f32>(pb + f4(j)));
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

/** out[rows,n] (row stride ld): every row = b1 + b2. The two PyTorch biases, added once per row. */
export function bias_rows(out: usize, b1: usize, b2: usize, rows: i32, n: i32, ld: i32): void {
  if (rows <= 0) return;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) v128.store(out + f4(j), f32x4.add(v128.load(b1 + f4(j)), v128.load(b2 + f4(j))));
  }
  for (; j < n; j++) store<f32>(out + f4(j), load<f32>(b1 + f4(j)) + load<f32>(b2 + f4(j)));
  copy_rows(out + f4(ld), ld, out, 0, rows - 1, n);
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
