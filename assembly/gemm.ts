// GEMM for the LSTM's products, one kernel for both forms it needs:
//   C[M,N] (+)= A[M,K] · B[K,N]
// B and C are row-major (ldb, ldc in floats). A element (i,k) is at a + 4*(i*ars + k*acs), so
//   NN (x·W, h·W):          ars = lda, acs = 1
//   TN (dW = Xᵀ·dA over rows): ars = 1,   acs = lda
// Both splat one A element against vectors of a B row, so neither needs horizontal sums.
// Tile: 4 rows × 8 columns = 8 accumulators + 2 B vectors + 1 splat = 11 of V8's 16 xmm registers.
// Then a 4-wide column block, then scalar columns; rows below 4 go through the same with 1 row.
import { madd, f4 } from "./vec";

/** C (+)= A·B; accumulate = false overwrites C. */
export function gemm(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32,
                     ars: i32, acs: i32, ldb: i32, ldc: i32, accumulate: bool): void {
  assert(M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
  assert(ldb >= N && ldc >= N, "gemm: row stride below N");
  assert(c != 0 && a != 0 && b != 0, "gemm: null pointer");
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= M; i += 4) {
      let j = 0;
      for (; j + 8 <= N; j += 8) tile4x8(c, a, b, i, j, K, ars, acs, ldb, ldc, accumulate);
      for (; j + 4 <= N; j += 4) tile4x4(c, a, b, i, j, K, ars, acs, ldb, ldc, accumulate);
      for (let r = 0; r < 4; r++) row_scalar(c, a, b, i + r, j, N, K, ars, acs, ldb, ldc, accumulate);
    }
    for (; i < M; i++) {
      let j = 0;
      for (; j + 8 <= N; j += 8) tile1x8(c, a, b, i, j, K, ars, acs, ldb, ldc, accumulate);
      for (; j + 4 <= N; j += 4) tile1x4(c, a, b, i, j, K, ars, acs, ldb, ldc, accumulate);
      row_scalar(c, a, b, i, j, N, K, ars, acs, ldb, ldc, accumulate);
    }
  }
  for (; i < M; i++) row_scalar(c, a, b, i, 0, N, K, ars, acs, ldb, ldc, accumulate);
}

// Columns [j0, N) of row i, k outer so B is read along its rows.
@inline function row_scalar(c: usize, a: usize, b: usize, i: i32, j0: i32, N: i32, K: i32,
                            ars: i32, acs: i32, ldb: i32, ldc: i32, accumulate: bool): void {
  if (j0 >= N) return;
  const pc = c + f4(i * ldc);
  if (!accumulate) memory.fill(pc + f4(j0), 0, f4(N - j0));
  let pa = a + f4(i * ars);
  const sa = f4(acs);
  let pb = b;
  const sb = f4(ldb);
  for (let k = 0; k < K; k++) {
    const av = load<f32>(pa);
    for (let j = j0; j < N; j++) {
      store<f32>(pc + f4(j), load<f32>(pc + f4(j)) + av * load<f32>(pb + f4(j)));
    }
    pa += sa;
    pb += sb;
  }
}

@inline function tile4x8(c: usize, a: usize, b: usize, i: i32, j: i32, K: i32,
                         ars: i32, acs: i32, ldb: i32, ldc: i32, accumulate: bool): void {
  const sc = f4(ldc);
  const c0 = c + f4(i * ldc + j), c1 = c0 + sc, c2 = c1 + sc, c3 = c2 + sc;
  let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
  let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
  if (accumulate) {
    x00 = v128.load(c0); x01 = v128.load(c0, 16);
    x10 = v128.load(c1); x11 = v128.load(c1, 16);
    x20 = v128.load(c2); x21 = v128.load(c2, 16);
    x30 = v128.load(c3); x31 = v128.load(c3, 16);
  }
  const sr = f4(ars), sa = f4(acs), sb = f4(ldb);
  let pa = a + f4(i * ars);
  let pb = b + f4(j);
  for (let k = 0; k < K; k++) {
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
    pb += sb;
  }
  v128.store(c0, x00); v128.store(c0, x01, 16);
  v128.store(c1, x10); v128.store(c1, x11, 16);
  v128.store(c2, x20); v128.store(c2, x21, 16);
  v128.store(c3, x30); v128.store(c3, x31, 16);
}

@inline function tile4x4(c: usize, a: usize, b: usize, i: i32, j: i32, K: i32,
                         ars: i32, acs: i32, ldb: i32, ldc: i32, accumulate: bool): void {
  const sc = f4(ldc);
  const c0 = c + f4(i * ldc + j), c1 = c0 + sc, c2 = c1 + sc, c3 = c2 + sc;
  let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
  if (accumulate) { x0 = v128.load(c0); x1 = v128.load(c1); x2 = v128.load(c2); x3 = v128.load(c3); }
  const sr = f4(ars), sa = f4(acs), sb = f4(ldb);
  let pa = a + f4(i * ars);
  let pb = b + f4(j);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(pb);
    x0 = madd(v128.load32_splat(pa), b0, x0);
    x1 = madd(v128.load32_splat(pa + sr), b0, x1);
    x2 = madd(v128.load32_splat(pa + 2 * sr), b0, x2);
    x3 = madd(v128.load32_splat(pa + 3 * sr), b0, x3);
    pa += sa;
    pb += sb;
  }
  v128.store(c0, x0); v128.store(c1, x1); v128.store(c2, x2); v128.store(c3, x3);
}

@inline function tile1x8(c: usize, a: usize, b: usize, i: i32, j: i32, K: i32,
                         ars: i32, acs: i32, ldb: i32, ldc: i32, accumulate: bool): void {
  const c0 = c + f4(i * ldc + j);
  let x0 = f32x4.splat(0), x1 = f32x4.splat(0);
  if (accumulate) { x0 = v128.load(c0); x1 = v128.load(c0, 16); }
  const sa = f4(acs), sb = f4(ldb);
  let pa = a + f4(i * ars);
  let pb = b + f4(j);
  for (let k = 0; k < K; k++) {
    const av = v128.load32_splat(pa);
    x0 = madd(av, v128.load(pb), x0);
    x1 = madd(av, v128.load(pb, 16), x1);
    pa += sa;
    pb += sb;
  }
  v128.store(c0, x0); v128.store(c0, x1, 16);
}

@inline function tile1x4(c: usize, a: usize, b: usize, i: i32, j: i32, K: i32,
                         ars: i32, acs: i32, ldb: i32, ldc: i32, accumulate: bool): void {
  const c0 = c + f4(i * ldc + j);
  let x0 = accumulate ? v128.load(c0) : f32x4.splat(0);
  const sa = f4(acs), sb = f4(ldb);
  let pa = a + f4(i * ars);
  let pb = b + f4(j);
  for (let k = 0; k < K; k++) {
    x0 = madd(v128.load32_splat(pa), v128.load(pb), x0);
    pa += sa;
    pb += sb;
  }
  v128.store(c0, x0);
}

/** dst[cols,rows] = src[rows,cols]ᵀ. Called once per backward on weights, not per step. */
export function transpose(dst: usize, src: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) store<f32>(dst + f4(q * rows + r), load<f32>(src + f4(r * cols + q)));
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

/** out[n] += Σ_r src[r][0..n), row stride lds. The bias gradient. */
export function colsum_add(out: usize, src: usize, rows: i32, n: i32, lds: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      let acc = v128.load(out + f4(j));
      let p = src + f4(j);
      for (let r = 0; r < rows; r++) { acc = f32x4.add(acc, v128.load(p)); p += f4(lds); }
      v128.store(out + f4(j), acc);
    }
  }
  for (; j < n; j++) {
    let acc = load<f32>(out + f4(j));
    for (let r = 0; r < rows; r++) acc += load<f32>(src + f4(r * lds + j));
    store<f32>(out + f4(j), acc);
  }
}
