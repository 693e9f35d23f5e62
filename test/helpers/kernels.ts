// Calling the raw kernels from tests: blocks in the current backend's arena, the 8-column panel
// layout of assembly/gemm.ts, and one LSTM direction (lstm_forward / lstm_backward) run on
// PyTorch-layout float32 tensors. Independent of the src/ layer classes on purpose.
import { expect } from "vitest";
import { backend, type Backend } from "../../src/wasm/backend";

export const SENTINEL = Math.fround(-12345.678);
const NR = 8;

/** Blocks in the arena, released together. Views are re-taken after every alloc (grow detaches). */
export class Mem {
  readonly be: Backend = backend();
  private blocks: number[] = [];

  /** n floats (or a copy of data), followed by 4 sentinel floats checked by read(). */
  f32(data: ArrayLike<number> | number): number {
    const n = typeof data === "number" ? data : data.length;
    const p = this.be.arena.alloc((n + 4) * 4);
    this.blocks.push(p);
    const f = this.be.f32, o = p >> 2;
    if (typeof data === "number") f.fill(0, o, o + n);
    else f.set(data, o);
    f.fill(SENTINEL, o + n, o + n + 4);
    return p;
  }

  i32(data: ArrayLike<number>): number {
    const p = this.be.arena.alloc(Math.max(4, data.length * 4));
    this.blocks.push(p);
    this.be.i32.set(data, p >> 2);
    return p;
  }

  /** A copy of n floats at p; the 4 sentinels after them must have survived. */
  read(p: number, n: number, label = "block"): Float32Array {
    const f = this.be.f32, o = p >> 2;
    for (let k = 0; k < 4; k++) if (!Object.is(f[o + n + k], SENTINEL)) expect.fail(`${label}: float ${n + k} past the end overwritten (${f[o + n + k]})`);
    return f.slice(o, o + n);
  }

  free(): void {
    for (const p of this.blocks) this.be.arena.release(p);
    this.blocks = [];
  }
}

/** Bytes [0, 64): a kernel writing through a null pointer (a missing bias) would start there, on constants. */
export const lowBytes = () => new Uint8Array(backend().k.memory.buffer, 0, 64).slice();

/** Floats a K-row, N-column matrix takes in panel layout. */
export const panelSize = (K: number, N: number) => Math.ceil(N / NR) * NR * K;

/** Panels of Aᵀ, for A [N,K] row-major (a PyTorch weight): element (k, n) of Aᵀ is A[n][k]. */
export function panelsOfTransposed(A: ArrayLike<number>, N: number, K: number): Float32Array {
  const out = new Float32Array(panelSize(K, N));
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[((n >> 3) * K + k) * NR + (n & 7)] = A[n * K + k];
  return out;
}

/** Panels of A [K,N] row-major as it is. */
export function panelsOf(A: ArrayLike<number>, K: number, N: number): Float32Array {
  const out = new Float32Array(panelSize(K, N));
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[((n >> 3) * K + k) * NR + (n & 7)] = A[k * N + n];
  return out;
}

/** A [N,K] (PyTorch orientation) back from panels of Aᵀ. */
export function fromPanelsTransposed(P: ArrayLike<number>, N: number, K: number): Float32Array {
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] = P[((n >> 3) * K + k) * NR + (n & 7)];
  return out;
}

// ---------------------------------------------------------------- one LSTM direction

/** One layer, one direction, as the kernels see it. */
export interface LstmCase {
  T: number; B: number; I: number; H: number;
  P?: number; // projection size, 0 for none
  peephole?: boolean;
  reverse?: boolean;
  hard?: boolean; // recurrent activation: hard sigmoid
  lengths?: number[]; // i32 [B]
  mask?: number[]; // i32 [T,B]
  padX?: number; padY?: number; // extra floats per row of x/dx and y/dy (NaN in inputs, sentinels in outputs)
}

/** PyTorch names and layouts; a bias or peephole tensor that is null is passed as pointer 0. */
export interface LstmParams {
  weight_ih: Float32Array; weight_hh: Float32Array; weight_hr: Float32Array | null;
  bias_ih: Float32Array | null; bias_hh: Float32Array | null;
  peephole_i: Float32Array | null; peephole_f: Float32Array | null; peephole_o: Float32Array | null;
}

export const dimsOf = (c: LstmCase) => {
  const Hout = c.P ? c.P : c.H;
  return { G: 4 * c.H, Hout, ldx: c.I + (c.padX ?? 0), ldy: Hout + (c.padY ?? 0), TB: c.T * c.B };
};

/** rows × w floats into rows × ld (the rest `fill`). */
function widen(a: ArrayLike<number>, rows: number, w: number, ld: number, fill: number): Float32Array {
  const out = new Float32Array(rows * ld).fill(fill);
  for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) out[r * ld + j] = a[r * w + j];
  return out;
}

/** rows × ld floats back to rows × w, checking the padding still holds `fill` (bits). */
function narrow(a: Float32Array, rows: number, w: number, ld: number, fill: number, label: string): Float32Array {
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < ld; j++) {
      if (j < w) out[r * w + j] = a[r * ld + j];
      else if (!Object.is(a[r * ld + j], fill)) expect.fail(`${label}: row padding [${r}][${j}] overwritten (${a[r * ld + j]})`);
    }
  }
  return out;
}

export interface LstmForward { y: Float32Array; hn: Float32Array; cn: Float32Array; act: Float32Array }

export interface LstmBackward {
  dx: Float32Array; dh0: Float32Array; dc0: Float32Array;
  grads: Record<string, Float32Array>; // PyTorch names; absent for null parameters
}

/**
 * lstm_forward, and with `back` lstm_backward, on fresh buffers. x [T,B,I], h0 [B,Hout], c0 [B,H];
 * back: dy [T,B,Hout], dhn [B,Hout], dcn [B,H]. Gradient buffers start at 0.
 */
export function runLstm(c: LstmCase, p: LstmParams, x: Float32Array, h0: Float32Array, c0: Float32Array,
  back?: { dy: Float32Array; dhn: Float32Array; dcn: Float32Array }): LstmForward & { back?: LstmBackward } {
  const mem = new Mem();
  try {
    const K = mem.be.k;
    const { T, B, I, H } = c;
    const { G, Hout, ldx, ldy, TB } = dimsOf(c);
    const opt = (a: Float32Array | null) => (a ? mem.f32(a) : 0);
    const px = mem.f32(widen(x, TB, I, ldx, NaN));
    const py = mem.f32(widen(new Float32Array(TB * Hout), TB, Hout, ldy, SENTINEL));
    const ph = mem.f32(h0), pc = mem.f32(c0);
    const pact = mem.f32(TB * G), pcs = mem.f32(TB * H), pcp = mem.f32(TB * H), php = mem.f32(TB * Hout);
    const pm = c.P ? mem.f32(TB * H) : 0;
    const wih = mem.f32(panelsOfTransposed(p.weight_ih, G, I)), whh = mem.f32(panelsOfTransposed(p.weight_hh, G, Hout));
    const whr = p.weight_hr ? mem.f32(panelsOfTransposed(p.weight_hr, Hout, H)) : 0;
    const bih = opt(p.bias_ih), bhh = opt(p.bias_hh);
    const pi = opt(p.peephole_i), pf = opt(p.peephole_f), po = opt(p.peephole_o);
    const lens = c.lengths ? mem.i32(c.lengths) : 0, mask = c.mask ? mem.i32(c.mask) : 0;
    const rev = c.reverse ? 1 : 0, ract = c.hard ? 1 : 0;
    K.lstm_forward(py, ldy, ph, pc, pact, pcs, pcp, php, pm, B * H, px, ldx, wih, whh, bih, bhh, whr,
      pi, pf, po, lens, mask, T, B, I, H, Hout, rev, ract, 0, 1, 0);
    const out: LstmForward & { back?: LstmBackward } = {
      y: narrow(mem.read(py, TB * ldy, "y"), TB, Hout, ldy, SENTINEL, "y"),
      hn: mem.read(ph, B * Hout, "hn"), cn: mem.read(pc, B * H, "cn"), act: mem.read(pact, TB * G, "act"),
    };
    if (!back) return out;

    const pdx = mem.f32(widen(new Float32Array(TB * I), TB, I, ldx, SENTINEL));
    const pdh = mem.f32(back.dhn), pdc = mem.f32(back.dcn);
    const pdy = mem.f32(widen(back.dy, TB, Hout, ldy, NaN));
    const dwih = mem.f32(panelSize(I, G)), dwhh = mem.f32(panelSize(Hout, G));
    const dwhr = c.P ? mem.f32(panelSize(H, Hout)) : 0;
    const dbih = p.bias_ih ? mem.f32(G) : 0, dbhh = p.bias_hh ? mem.f32(G) : 0;
    const [dpi, dpf, dpo] = c.peephole ? [mem.f32(H), mem.f32(H), mem.f32(H)] : [0, 0, 0];
    const da = mem.f32(TB * G), dht = c.P ? mem.f32(TB * Hout) : 0, dm = mem.f32(B * H), dhs = mem.f32(B * Hout);
    const wiht = mem.f32(panelsOf(p.weight_ih, G, I)), whht = mem.f32(panelsOf(p.weight_hh, G, Hout));
    const whrt = p.weight_hr ? mem.f32(panelsOf(p.weight_hr, Hout, H)) : 0;
    const npack = K.gemm_scratch_size(TB, G), pack = mem.f32(new Float32Array(npack).fill(NaN)); // scratch: read only after written
    K.lstm_backward(pdx, ldx, pdh, pdc, dwih, dwhh, dbih, dbhh, dwhr, dpi, dpf, dpo, da, dht, dm, dhs, pack, pdy, ldy,
      px, pact, pcs, pcp, php, pm, wiht, whht, whrt, pi, pf, po, lens, mask, T, B, I, H, Hout, rev, ract, 0, 1, 0);
    mem.read(pack, npack, "gemm_rm's scratch");
    const grads: Record<string, Float32Array> = {
      weight_ih: fromPanelsTransposed(mem.read(dwih, panelSize(I, G), "dW_ih"), G, I),
      weight_hh: fromPanelsTransposed(mem.read(dwhh, panelSize(Hout, G), "dW_hh"), G, Hout),
    };
    if (dbih) grads.bias_ih = mem.read(dbih, G, "db_ih");
    if (dbhh) grads.bias_hh = mem.read(dbhh, G, "db_hh");
    if (dwhr) grads.weight_hr = fromPanelsTransposed(mem.read(dwhr, panelSize(H, Hout), "dW_hr"), Hout, H);
    if (c.peephole) {
      grads.peephole_i = mem.read(dpi, H, "dp_i"); grads.peephole_f = mem.read(dpf, H, "dp_f"); grads.peephole_o = mem.read(dpo, H, "dp_o");
    }
    out.back = {
      dx: narrow(mem.read(pdx, TB * ldx, "dx"), TB, I, ldx, SENTINEL, "dx"),
      dh0: mem.read(pdh, B * Hout, "dh0"), dc0: mem.read(pdc, B * H, "dc0"), grads,
    };
    return out;
  } finally {
    mem.free();
  }
}
