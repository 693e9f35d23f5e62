// lstm_forward called on raw pointers so that the pre-activations are exactly the biases: x = 0 and
// every weight -0, so x·W and h·W add only ±0 to them (0·-0 = -0; v + ±0 = v for every v but ±0),
// and the saved gates are the activations of b_ih + b_hh. A projection to one unit keeps h·W_hh
// one term whatever H is. Used to test what runs only inside lstm_forward: the activations and the
// bias pass.
import { expect } from "vitest";
import type { Backend } from "../../src/wasm/backend";

const SENTINEL = Math.fround(-12345.678);
const GUARD = 4; // sentinel floats after the gate block
const panelSize = (rows: number, cols: number) => Math.ceil(cols / 8) * 8 * rows;

/**
 * The saved gates act [T,B,4H] (blocks i, f, g, o) of one layer with H hidden units, In = 1 and the
 * given biases b_ih, b_hh [4H]; checks that nothing was written past act. ract: the recurrent
 * activation of i, f and o (0 sigmoid, 1 hard sigmoid).
 */
export function forwardGates(be: Backend, T: number, B: number, H: number, bih: ArrayLike<number>, bhh: ArrayLike<number>,
  ract = 0): Float32Array {
  const G = 4 * H, A = T * B * G;
  const sizes = { act: A + GUARD, bih: G, bhh: G, wih: panelSize(1, G), whh: panelSize(1, G), whr: panelSize(H, 1),
    c: B * H, m: B * H, h: B, x: T * B, y: T * B };
  type Name = keyof typeof sizes;
  const p = {} as Record<Name, number>;
  for (const k of Object.keys(sizes) as Name[]) p[k] = be.arena.alloc(4 * sizes[k]);
  const f = be.f32; // after every alloc: a grow detaches older views
  const at = (k: Name) => p[k] >>> 2;
  for (const k of ["wih", "whh", "whr"] as const) f.fill(-0, at(k), at(k) + sizes[k]);
  for (const k of ["c", "m", "h", "x", "y"] as const) f.fill(0, at(k), at(k) + sizes[k]);
  f.set(bih, at("bih"));
  f.set(bhh, at("bhh"));
  f.fill(SENTINEL, at("act"), at("act") + A + GUARD);
  be.k.lstm_forward(p.y, 1, p.h, p.c, p.act, 0, 0, 0, p.m, 0, p.x, 1,
    p.wih, p.whh, p.bih, p.bhh, p.whr, 0, 0, 0, 0, 0, T, B, 1, H, 1, 0, ract, 0, 1, 0);
  const act = be.f32.slice(at("act"), at("act") + A + GUARD);
  for (let k = 0; k < GUARD; k++) expect(act[A + k], `T=${T} B=${B} H=${H}: guard ${k} after the gates`).toBe(SENTINEL);
  for (const ptr of Object.values(p)) be.arena.release(ptr);
  return act.subarray(0, A);
}
