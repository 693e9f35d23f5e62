// SIMD helpers shared by every kernel. All are @inline so the builds stay branch-free:
// ASC_FEATURE_* are compile-time constants and the dead side is never compiled.

/** a*b + c. Fused (one rounding) where the relaxed build's hardware has FMA; two roundings otherwise. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Byte offset of float index i. */
@inline export function f4(i: i32): usize {
  return <usize>i << 2;
}

/** dst[r][0..cols) = src[r][0..cols) for r < rows; strides in floats (lds 0 repeats one row). */
export function copy_rows(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
  const bytes = f4(cols);
  for (let r = 0; r < rows; r++) memory.copy(dst + f4(r * ldd), src + f4(r * lds), bytes);
}

/** dst[r] = 0 for one row of `cols` floats. */
@inline export function zero_row(dst: usize, cols: i32): void {
  memory.fill(dst, 0, f4(cols));
}

/**
 * Whether batch row b is a real step at time t (not padding, not masked).
 * lengths: i32 [B] (valid iff t < lengths[b]) or 0; mask: i32 [T,B] (valid iff nonzero) or 0.
 */
@inline export function active(lengths: usize, mask: usize, B: i32, b: i32, t: i32): bool {
  return (lengths == 0 || t < load<i32>(lengths + f4(b))) && (mask == 0 || load<i32>(mask + f4(t * B + b)) != 0);
}
