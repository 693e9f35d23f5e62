// Where each parameter lives inside a model's one parameter block, and how PyTorch's layout maps to it.
// Kernels want every weight as [K,N] with N contiguous (see assembly/lstm.ts), so the 2-D
// PyTorch weights are stored transposed: W_ih [4H,In] as [In,4H], W_hh [4H,Hout] as [Hout,4H],
// W_hr [Hout,H] as [H,Hout]. Biases and peepholes are stored as they are.
// The gradient block is a twin with the same layout, so zeroing and clipping are one loop each.

/** A validated model configuration (see LSTMOptions). */
export interface LSTMConfig {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  projSize: number;
  peephole: boolean;
  batchFirst: boolean;
}

/** One PyTorch tensor inside the block. */
export interface ParamEntry {
  name: string;
  shape: number[]; // PyTorch's shape
  offset: number; // in floats from the block start
  size: number;
  transposed: boolean; // stored as shape reversed
}

/** Float offsets of one (layer, direction)'s parameters; -1 where absent. */
export interface Group {
  In: number;
  wih: number;
  whh: number;
  bih: number;
  bhh: number;
  whr: number;
  pi: number;
  pf: number;
  po: number;
}

export interface Layout {
  entries: ParamEntry[];
  groups: Group[]; // index layer*D + direction
  total: number; // floats
}

const ALIGN = 16; // floats: keeps every tensor on a 64-byte line

export function dims(cfg: LSTMConfig) {
  const H = cfg.hiddenSize, D = cfg.bidirectional ? 2 : 1;
  const Hout = cfg.projSize > 0 ? cfg.projSize : H;
  return { H, D, Hout, G: 4 * H, L: cfg.numLayers, I: cfg.inputSize };
}

export function layoutParams(cfg: LSTMConfig): Layout {
  const { H, D, Hout, G, L, I } = dims(cfg);
  const entries: ParamEntry[] = [];
  const groups: Group[] = [];
  let at = 0;
  const add = (name: string, shape: number[], transposed: boolean) => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset: at, size, transposed });
    const off = at;
    at += Math.ceil(size / ALIGN) * ALIGN;
    return off;
  };
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? I : D * Hout;
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d ? "_reverse" : ""}`;
      const g: Group = { In, wih: 0, whh: 0, bih: 0, bhh: 0, whr: -1, pi: -1, pf: -1, po: -1 };
      g.wih = add(`weight_ih${s}`, [G, In], true);
      g.whh = add(`weight_hh${s}`, [G, Hout], true);
      g.bih = add(`bias_ih${s}`, [G], false);
      g.bhh = add(`bias_hh${s}`, [G], false);
      if (cfg.projSize > 0) g.whr = add(`weight_hr${s}`, [Hout, H], true);
      if (cfg.peephole) {
        g.pi = add(`peephole_i${s}`, [H], false);
        g.pf = add(`peephole_f${s}`, [H], false);
        g.po = add(`peephole_o${s}`, [H], false);
      }
      groups.push(g);
    }
  }
  return { entries, groups, total: at };
}

/** Copy a PyTorch-layout tensor into the block (heap = the memory as floats, base = block start). */
export function writeEntry(e: ParamEntry, src: Float32Array, heap: Float32Array, base: number): void {
  const at = base + e.offset;
  if (!e.transposed) { heap.set(src, at); return; }
  const [R, C] = e.shape; // stored as [C, R]
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) heap[at + c * R + r] = src[r * C + c];
}

/** A fresh PyTorch-layout copy of one tensor of the block. */
export function readEntry(e: ParamEntry, heap: Float32Array, base: number): Float32Array {
  const at = base + e.offset;
  if (!e.transposed) return heap.slice(at, at + e.size);
  const [R, C] = e.shape;
  const out = new Float32Array(e.size);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[r * C + c] = heap[at + c * R + r];
  return out;
}
