// Central finite differences of a float32 kernel, measured through a float64 loss, against the
// kernel's own analytic gradient. Each checked element is perturbed in place by ±eps (as float32,
// so the step actually taken is measured) and restored bit for bit.
import { expect } from "vitest";

export interface Probe {
  /** The loss, in float64, of the kernel's outputs at the current inputs. */
  value: number;
  /**
   * Which side of every kink the run was on (e.g. hard sigmoid saturated or not), or undefined for
   * a smooth function: an element whose two runs differ straddles a kink and is not compared.
   */
  regime?: string;
}

export interface FdOptions {
  eps?: number; // default 1e-2: float32 round-off in the loss is then ~1e-5 of a unit gradient
  atol?: number; // default 2e-3
  rtol?: number; // default 2e-2
  cap?: number; // elements checked per tensor, default 12 (first, last and a fixed random draw)
  rng: () => number;
}

/** Up to `cap` indices of an n-element tensor: all of them when small, else first, last and random. */
export function sampleIndices(n: number, rng: () => number, cap: number): number[] {
  if (n <= cap) return Array.from({ length: n }, (_, k) => k);
  const picked = new Set([0, n - 1]);
  while (picked.size < cap) picked.add(Math.floor(rng() * n));
  return [...picked].sort((a, b) => a - b);
}

/**
 * d loss / d theta[k] by central differences against analytic[k] on sampled k.
 * Returns how many elements were compared and how many straddled a kink.
 */
export function fdCheck(label: string, theta: Float32Array, analytic: ArrayLike<number>, run: () => Probe,
  o: FdOptions): { compared: number; skipped: number } {
  const eps = o.eps ?? 1e-2, atol = o.atol ?? 2e-3, rtol = o.rtol ?? 2e-2;
  expect(analytic.length, `${label}: gradient length`).toBe(theta.length);
  let compared = 0, skipped = 0;
  for (const k of sampleIndices(theta.length, o.rng, o.cap ?? 12)) {
    const saved = theta[k];
    theta[k] = saved + eps;
    const up = theta[k];
    const p = run();
    theta[k] = saved - eps;
    const down = theta[k];
    const m = run();
    theta[k] = saved;
    if (p.regime !== m.regime) { skipped++; continue; }
    const numeric = (p.value - m.value) / (up - down);
    const a = analytic[k];
    if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
      expect.fail(`${label}[${k}]: analytic ${a} vs central difference ${numeric} (eps ${eps})`);
    }
    compared++;
  }
  return { compared, skipped };
}

/** Σ r⊙a over float32 outputs, in float64. */
export function dot(a: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * r[k];
  return s;
}
