// Where each parameter lives inside a model's one parameter block, and how PyTorch's layout maps to it.
// Kernels read every weight as Wᵀ [K,N] in 8-column panels (see assembly/gemm.ts): the 2-D PyTorch
// weights W [N,K] (W_ih [4H,In], W_hh [4H,Hout], W_hr [Hout,H]) are stored so that element
// W[n][k] sits at ((n>>3)*K + k)*8 + (n&7), with N rounded up to 8 by zeros. Biases and
// peepholes are stored as they are.
// The gradient block is a twin with the same layout, so zeroing and clipping are one loop each.

/** A validated model configuration (see LSTMOptions). */
export interface LSTMConfig {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  /** Unidirectional, run from the last step to the first (ONNX direction 'reverse'). */
  reverse: boolean;
  projSize: number;
  peephole: boolean;
  batchFirst: boolean;
  /** Whether the layer has bias_ih and bias_hh (torch's `bias`). */
  bias: boolean;
  /** The activation of the i, f and o gates. */
  recurrentActivation: "sigmoid" | "hardSigmoid";
  /** PyTorch's dropout: on every layer's output but the last, in training. */
  dropout: number;
  /** In a Sequential: hand the next layer every step (true) or each sequence's last output (false). */
  returnSequences: boolean;
  /** Keras's go_backwards: run from the last step to the first, every-step outputs in processing order. */
  goBackwards: boolean;
}

/** One PyTorch tensor inside the block. */
export interface ParamEntry {
  name: string;
  shape: number[]; // PyTorch's shape
  offset: number; // in floats from the block start
  size: number; // PyTorch's element count
  packed: boolean; // stored as Wᵀ panels; takes panelSize(shape) floats
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
const NR = 8; // panel width, as in assembly/gemm.ts

/** n rounded up to whole 64-byte lines. */
export const alignFloats = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Floats taken by the panel layout of a PyTorch [N,K] weight. */
export const panelSize = (N: number, K: number) => Math.ceil(N / NR) * NR * K;

export function dims(cfg: LSTMConfig) {
  const H = cfg.hiddenSize, D = cfg.bidirectional ? 2 : 1;
  const Hout = cfg.projSize > 0 ? cfg.projSize : H;
  return { H, D, Hout, G: 4 * H, L: cfg.numLayers, I: cfg.inputSize };
}

/**
 * The one parameter-layout builder every layer uses: tensors in order, each on a 64-byte line,
 * 2-D weights in panels (see above) and everything else as it is.
 */
export class LayoutBuilder {
  readonly entries: ParamEntry[] = [];
  total = 0;

  /** Add a tensor; returns its float offset in the block. */
  add(name: string, shape: number[], packed: boolean): number {
    const size = shape.reduce((a, b) => a * b, 1);
    const offset = this.total;
    this.entries.push({ name, shape, offset, size, packed });
    this.total += alignFloats(packed ? panelSize(shape[0], shape[1]) : size);
    return offset;
  }
}

/** Floats of an LSTM's parameter block, in closed form: layers past the first all have the same size. */
export function paramFloats(cfg: LSTMConfig): number {
  const { H, D, Hout, G, L, I } = dims(cfg);
  const group = (In: number) => alignFloats(panelSize(G, In)) + alignFloats(panelSize(G, Hout)) + (cfg.bias ? 2 * alignFloats(G) : 0) +
    (cfg.projSize > 0 ? alignFloats(panelSize(Hout, H)) : 0) + (cfg.peephole ? 3 * alignFloats(H) : 0);
  return D * (group(I) + (L - 1) * group(D * Hout));
}

/** An LSTM's tensors with torch.nn.LSTM's names, shapes and order (peepholes last, ours). */
export function layoutParams(cfg: LSTMConfig): Layout {
  const { H, D, Hout, G, L, I } = dims(cfg);
  const b = new LayoutBuilder();
  const groups: Group[] = [];
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? I : D * Hout;
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d ? "_reverse" : ""}`;
      const g: Group = { In, wih: 0, whh: 0, bih: -1, bhh: -1, whr: -1, pi: -1, pf: -1, po: -1 };
      g.wih = b.add(`weight_ih${s}`, [G, In], true);
      g.whh = b.add(`weight_hh${s}`, [G, Hout], true);
      if (cfg.bias) {
        g.bih = b.add(`bias_ih${s}`, [G], false);
        g.bhh = b.add(`bias_hh${s}`, [G], false);
      }
      if (cfg.projSize > 0) g.whr = b.add(`weight_hr${s}`, [Hout, H], true);
      if (cfg.peephole) {
        g.pi = b.add(`peephole_i${s}`, [H], false);
        g.pf = b.add(`peephole_f${s}`, [H], false);
        g.po = b.add(`peephole_o${s}`, [H], false);
      }
      groups.push(g);
    }
  }
  return { entries: b.entries, groups, total: b.total };
}

// Row n of a PyTorch [N,K] weight is a strided column of its panel: K floats, 8 apart.
const rowAt = (at: number, K: number, n: number) => at + (n >> 3) * K * NR + (n & 7);

/** Copy a PyTorch-layout tensor into the block (heap = the memory as floats, base = block start). */
export function writeEntry(e: ParamEntry, src: Float32Array, heap: Float32Array, base: number): void {
  const at = base + e.offset;
  if (!e.packed) { heap.set(src, at); return; }
  const [N, K] = e.shape;
  heap.fill(0, at, at + panelSize(N, K));
  for (let n = 0; n < N; n++) {
    const p = rowAt(at, K, n);
    for (let k = 0; k < K; k++) heap[p + k * NR] = src[n * K + k];
  }
}

/** A fresh PyTorch-layout copy of one tensor of the block. */
export function readEntry(e: ParamEntry, heap: Float32Array, base: number): Float32Array {
  const at = base + e.offset;
  if (!e.packed) return heap.slice(at, at + e.size);
  const [N, K] = e.shape;
  const out = new Float32Array(e.size);
  for (let n = 0; n < N; n++) {
    const p = rowAt(at, K, n);
    for (let k = 0; k < K; k++) out[n * K + k] = heap[p + k * NR];
  }
  return out;
}
