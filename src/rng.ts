/**
 * A small seeded generator for initialisation: a Weyl sequence (step 0x9e3779b9, the golden
 * ratio in 32 bits) passed through MurmurHash3's 32-bit finaliser (its published constants).
 * Returns floats in [0, 1) with 24 random bits, so float32 values are exact.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return (z >>> 8) / 16777216;
  };
}
