// Inverted dropout: y = x ⊙ mask, mask = 0 with probability p, else 1/(1−p) (torch.nn.Dropout
// in training; at inference the TypeScript side skips the layer, which is exactly the identity).
//
// The mask comes from a counter-based generator: element i of the call keyed (seed, stream) gets
//   u = mix(mix(i + ka) ^ kb),   ka = mix(seed ^ KEY_A),   kb = mix(stream ^ ka)
// and is kept when its top 24 bits, u >>> 8, are >= round(p · 2^24). mix is Wellons' "lowbias32"
// integer hash (hash-prospector; constants 0x7feb352d, 0x846ca68b, shifts 16/15/16), a bijection
// of u32. Only integer adds, xors, shifts and 32-bit multiplies: every build gives the same bits,
// any element is computed without the ones before it, and a big tensor costs one pass.
// (seed, stream) -> (ka, kb) is injective (ka is a bijection of seed, kb of stream for a given ka),
// so different streams under one seed never share keys. The keep probability is exact to 2^-24.
import { f4 } from "./vec";

@inline const M1: u32 = 0x7feb352d;
@inline const M2: u32 = 0x846ca68b;
// An arbitrary odd constant (2^32/φ) so that seed 0 does not key the hash with 0.
@inline const KEY_A: u32 = 0x9e3779b9;

@inline function mix(x: u32): u32 {
  x ^= x >>> 16;
  x *= M1;
  x ^= x >>> 15;
  x *= M2;
  return x ^ (x >>> 16);
}

@inline function mix_v(x: v128): v128 {
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, i32x4.splat(M1));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(M2));
  return v128.xor(x, i32x4.shr_u(x, 16));
}

/**
 * y [n]       out: x ⊙ mask (y may be x).
 * mask [n]    given = false: out, each element 0 (dropped) or 1/(1−p) (kept), from (seed, stream, i);
 *             given = true: in, any values (a fixed mask; p, seed and stream are then ignored).
 * x [n]. p in [0, 1]: 0 keeps everything (mask 1), 1 drops everything.
 * seed, stream: u32 key; the same pair gives the same mask on every build, and a caller gives each
 * call its own stream (e.g. a counter) for fresh masks.
 */
export function dropout_forward(y: usize, mask: usize, x: usize, n: i32, p: f32, seed: u32, stream: u32, given: bool): void {
  assert(n >= 0, "dropout_forward: bad size");
  assert(given || (p >= 0 && p <= 1), "dropout_forward: p outside [0, 1]");
  if (given) { apply_mask(y, x, mask, n); return; }
  const thr = <i32>Math.round(<f64>p * 16777216.0); // drop iff u >>> 8 < thr
  const scale = <f32>(1.0 / (1.0 - <f64>p));
  const ka = mix(seed ^ KEY_A), kb = mix(stream ^ ka);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const kav = i32x4.splat(ka), kbv = i32x4.splat(kb), thv = i32x4.splat(thr), sv = f32x4.splat(scale);
    let iv = i32x4(0, 1, 2, 3);
    for (; i + 4 <= n; i += 4) {
      const u = mix_v(v128.xor(mix_v(i32x4.add(iv, kav)), kbv));
      const mv = v128.and(sv, i32x4.ge_s(i32x4.shr_u(u, 8), thv));
      v128.store(mask + f4(i), mv);
      v128.store(y + f4(i), f32x4.mul(v128.load(x + f4(i)), mv));
      iv = i32x4.add(iv, i32x4.splat(4));
    }
  }
  for (; i < n; i++) {
    const u = mix(mix(<u32>i + ka) ^ kb);
    const mv: f32 = <i32>(u >>> 8) >= thr ? scale : 0;
    store<f32>(mask + f4(i), mv);
    store<f32>(y + f4(i), load<f32>(x + f4(i)) * mv);
  }
}

/** Backward of dropout_forward: dx [n] = dy [n] ⊙ mask [n], overwritten (dx may be dy). */
export function dropout_backward(dx: usize, dy: usize, mask: usize, n: i32): void {
  assert(n >= 0, "dropout_backward: bad size");
  apply_mask(dx, dy, mask, n);
}

// out[n] = a[n] ⊙ mask[n]
function apply_mask(out: usize, a: usize, mask: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(out + f4(i), f32x4.mul(v128.load(a + f4(i)), v128.load(mask + f4(i))));
  }
  for (; i < n; i++) store<f32>(out + f4(i), load<f32>(a + f4(i)) * load<f32>(mask + f4(i)));
}
