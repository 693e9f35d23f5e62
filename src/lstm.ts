import { LSTMError, describe, checkInt, checkBool } from "./errors";
import { type Tensor, type TensorLike, toTensor } from "./tensor";
import { backend, type Backend } from "./wasm/backend";
import { Workspace } from "./wasm/workspace";
import { type LSTMConfig, type Layout, layoutParams, dims, writeEntry, readEntry } from "./layout";
import { seededRandom } from "./rng";
import { checkKeys, checkLengths, copyIn, copyOut, readRows } from "./io";

/** Constructor options of {@link LSTM}; the names follow torch.nn.LSTM. */
export interface LSTMOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  /** PyTorch's proj_size: h_t = W_hr (o⊙tanh c_t), of size projSize < hiddenSize. 0 = none. */
  projSize?: number;
  /** Diagonal peepholes: p_i, p_f read c_{t-1}, p_o reads c_t. */
  peephole?: boolean;
  /** x and y as [B,T,…] instead of [T,B,…]. States stay [L*D,B,…], as in PyTorch. */
  batchFirst?: boolean;
  /** Seed of the U(−1/√H, 1/√H) initialisation; random when omitted. */
  seed?: number;
}

export interface ForwardOptions {
  /** T, needed when x is a flat Float32Array or number[]. */
  seqLen?: number;
  /** B, needed when x is a flat Float32Array or number[]. */
  batch?: number;
  /** [L*D,B,Hout] initial h; zeros when omitted. */
  h0?: TensorLike;
  /** [L*D,B,H] initial c; zeros when omitted. */
  c0?: TensorLike;
  /** Valid steps per batch element, each in [1,T], any order (PyTorch packed-sequence semantics). */
  lengths?: ArrayLike<number>;
  /** Keep what backward() needs. */
  train?: boolean;
  /** Also return every gate's activations. */
  returnGates?: boolean;
}

export type Gates = Record<string, Record<string, Tensor>>;
export interface ForwardResult { y: Tensor; hn: Tensor; cn: Tensor; gates?: Gates }
export interface BackwardOptions { dy?: TensorLike; dhn?: TensorLike; dcn?: TensorLike }
export interface BackwardResult { dx: Tensor; dh0: Tensor; dc0: Tensor }
/** A streaming state for {@link LSTM.step}: h [L,B,Hout], c [L,B,H]. Updated in place. */
export interface LSTMState { h: Tensor; c: Tensor }

type Ptrs = Record<string, number>;
interface Cache { T: number; B: number; lens: number; p: Ptrs }

const CONFIG_KEYS = ["inputSize", "hiddenSize", "numLayers", "bidirectional", "projSize", "peephole", "batchFirst", "seed"];
const FORWARD_KEYS = ["seqLen", "batch", "h0", "c0", "lengths", "train", "returnGates"];
const GATE_NAMES = ["i", "f", "g", "o"] as const;

/**
 * A multi-layer LSTM whose forward, BPTT and clipping run in WebAssembly.
 * Parameters use torch.nn.LSTM's names, shapes and gate order (i, f, g, o).
 * @example
 * await init();
 * const lstm = new LSTM({ inputSize: 3, hiddenSize: 8, seed: 1 });
 * const { y, hn } = lstm.forward(x, { seqLen: 5, batch: 2 }); // y [5,2,8]
 */
export class LSTM {
  readonly config: Readonly<LSTMConfig>;
  private readonly be: Backend;
  private readonly layout: Layout;
  private readonly params: number;
  private readonly gradPtr: number;
  private readonly trainWs: Workspace;
  private readonly inferWs: Workspace;
  private readonly backWs: Workspace;
  private cache: Cache | null = null;
  private disposed = false;

  /**
   * @param opts sizes and options; see {@link LSTMOptions}.
   * @throws LSTMError on a bad option, or when the parameters cannot fit in wasm memory.
   */
  constructor(opts: LSTMOptions) {
    checkKeys("options", opts, CONFIG_KEYS);
    const cfg: LSTMConfig = {
      inputSize: checkInt("options.inputSize", opts.inputSize),
      hiddenSize: checkInt("options.hiddenSize", opts.hiddenSize),
      numLayers: checkInt("options.numLayers", opts.numLayers ?? 1),
      bidirectional: checkBool("options.bidirectional", opts.bidirectional ?? false),
      projSize: checkInt("options.projSize", opts.projSize ?? 0, 0),
      peephole: checkBool("options.peephole", opts.peephole ?? false),
      batchFirst: checkBool("options.batchFirst", opts.batchFirst ?? false),
    };
    if (cfg.projSize >= cfg.hiddenSize) {
      throw new LSTMError("options.projSize", `0 (none) or less than hiddenSize ${cfg.hiddenSize}`, describe(cfg.projSize));
    }
    const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkInt("options.seed", opts.seed, 0, 2 ** 32 - 1);
    this.config = Object.freeze(cfg);
    this.be = backend();
    this.layout = layoutParams(cfg);
    const bytes = this.layout.total * 4;
    this.params = this.be.arena.alloc(bytes, "parameters");
    try {
      this.gradPtr = this.be.arena.alloc(bytes, "gradients");
    } catch (e) {
      this.be.arena.release(this.params);
      throw e;
    }
    this.trainWs = new Workspace(this.be, "training buffers");
    this.inferWs = new Workspace(this.be, "inference buffers");
    this.backWs = new Workspace(this.be, "backward buffers");
    const heap = this.be.f32;
    heap.fill(0, this.params >>> 2, (this.params >>> 2) + this.layout.total);
    heap.fill(0, this.gradPtr >>> 2, (this.gradPtr >>> 2) + this.layout.total);
    // PyTorch's default: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in PyTorch layout order.
    const rand = seededRandom(seed), k = 1 / Math.sqrt(cfg.hiddenSize);
    for (const e of this.layout.entries) {
      const v = new Float32Array(e.size);
      for (let i = 0; i < v.length; i++) v[i] = (2 * rand() - 1) * k;
      writeEntry(e, v, heap, this.params >>> 2);
    }
  }

  /** The backend (build) this model runs on. */
  get backend(): string {
    return this.be.name;
  }

  /**
   * Run the whole sequence through every layer.
   * @param x [T,B,I] ([B,T,I] with batchFirst): a tensor, nested arrays, or flat data with seqLen and batch.
   * @returns y [T,B,D*Hout] (forward direction's columns first), hn [L*D,B,Hout], cn [L*D,B,H], and
   *   with returnGates, gates['l0' | 'l0_reverse' | …] = {i,f,g,o,c [T,B,H], h [T,B,Hout], m [T,B,H] if projSize}.
   * @throws LSTMError on bad shapes, lengths or options; the model stays usable.
   */
  forward(x: TensorLike, opts: ForwardOptions = {}): ForwardResult {
    this.live();
    checkKeys("options", opts, FORWARD_KEYS);
    const { H, D, Hout, L, I, G } = dims(this.config);
    const bf = this.config.batchFirst;
    const seqLen = opts.seqLen === undefined ? null : checkInt("options.seqLen", opts.seqLen);
    const batch = opts.batch === undefined ? null : checkInt("options.batch", opts.batch);
    const xt = toTensor("x", x, bf ? [batch, seqLen, I] : [seqLen, batch, I]);
    const T = xt.shape[bf ? 1 : 0], B = xt.shape[bf ? 0 : 1];
    if (T < 1 || B < 1) throw new LSTMError("x", "at least one time step and one batch element", `shape [${xt.shape.join(",")}]`);
    const h0 = opts.h0 === undefined ? null : toTensor("options.h0", opts.h0, [L * D, B, Hout]);
    const c0 = opts.c0 === undefined ? null : toTensor("options.c0", opts.c0, [L * D, B, H]);
    const lengths = opts.lengths === undefined ? null : checkLengths("options.lengths", opts.lengths, B, T);
    const train = checkBool("options.train", opts.train ?? false);
    const wantGates = checkBool("options.returnGates", opts.returnGates ?? false);

    const TB = T * B, LD = L * D, proj = this.config.projSize > 0;
    let p: Ptrs;
    if (train) {
      this.cache = null; // its buffers are about to be overwritten
      const sizes: Record<string, number> = { x: TB * I, lens: lengths ? B : 0, h: LD * B * Hout, c: LD * B * H };
      for (let l = 0; l < L; l++) sizes[`y${l}`] = TB * D * Hout;
      for (let k = 0; k < LD; k++) {
        sizes[`act${k}`] = TB * G; sizes[`cs${k}`] = TB * H; sizes[`cp${k}`] = TB * H;
        sizes[`hp${k}`] = TB * Hout; sizes[`m${k}`] = proj ? TB * H : 0;
      }
      p = this.trainWs.plan(sizes);
    } else {
      p = this.planInfer(T, B, wantGates, lengths !== null);
    }
    const heap = this.be.f32;
    copyIn(heap, p.x, xt.data, T, B, I, bf);
    if (lengths) this.be.i32.set(lengths, p.lens >>> 2);
    if (h0) heap.set(h0.data, p.h >>> 2); else heap.fill(0, p.h >>> 2, (p.h >>> 2) + LD * B * Hout);
    if (c0) heap.set(c0.data, p.c >>> 2); else heap.fill(0, p.c >>> 2, (p.c >>> 2) + LD * B * H);

    const gates: Gates | undefined = wantGates ? {} : undefined;
    const top = this.run(p, T, B, train, gates);
    const out = this.be.f32; // the same memory; no call above grows it
    const result: ForwardResult = {
      y: { data: copyOut(out, top, T, B, D * Hout, bf), shape: bf ? [B, T, D * Hout] : [T, B, D * Hout] },
      hn: { data: out.slice(p.h >>> 2, (p.h >>> 2) + LD * B * Hout), shape: [LD, B, Hout] },
      cn: { data: out.slice(p.c >>> 2, (p.c >>> 2) + LD * B * H), shape: [LD, B, H] },
    };
    if (gates) result.gates = gates;
    if (train) this.cache = { T, B, lens: p.lens, p };
    return result;
  }

  private planInfer(T: number, B: number, gates: boolean, lengths: boolean): Ptrs {
    const { H, D, Hout, L, I, G } = dims(this.config);
    const TB = T * B, LD = L * D, proj = this.config.projSize > 0;
    return this.inferWs.plan({
      x: TB * I, lens: lengths ? B : 0, h: LD * B * Hout, c: LD * B * H,
      ya: TB * D * Hout, yb: L > 1 ? TB * D * Hout : 0, act: TB * G,
      cs: gates ? TB * H : 0, m: proj ? (gates ? TB * H : B * H) : 0,
    });
  }

  // Every layer and direction through lstm_forward; returns the pointer to the top layer's y.
  private run(p: Ptrs, T: number, B: number, train: boolean, gates?: Gates): number {
    const { H, D, Hout, L, I } = dims(this.config);
    const K = this.be.k, w = this.params, lay = this.layout;
    const proj = this.config.projSize > 0;
    let input = p.x, In = I;
    for (let l = 0; l < L; l++) {
      const y = train ? p[`y${l}`] : l % 2 === 0 ? p.ya : p.yb;
      for (let d = 0; d < D; d++) {
        const k = l * D + d, g = lay.groups[k];
        const act = train ? p[`act${k}`] : p.act;
        const cs = train ? p[`cs${k}`] : p.cs;
        const m = train ? p[`m${k}`] : p.m;
        const mts = proj && (train || gates) ? B * H : 0;
        const at = (off: number) => (off < 0 ? 0 : w + 4 * off);
        K.lstm_forward(y + 4 * d * Hout, D * Hout, p.h + 4 * k * B * Hout, p.c + 4 * k * B * H, act,
          cs, train ? p[`cp${k}`] : 0, train ? p[`hp${k}`] : 0, m, mts, input, In,
          at(g.wih), at(g.whh), at(g.bih), at(g.bhh), at(g.whr), at(g.pi), at(g.pf), at(g.po),
          p.lens, T, B, In, H, Hout, d);
        if (gates) gates[`l${l}${d ? "_reverse" : ""}`] = this.readGates(act, cs, m, y, d, T, B);
      }
      input = y;
      In = D * Hout;
    }
    return input;
  }

  private readGates(act: number, cs: number, m: number, y: number, d: number, T: number, B: number): Record<string, Tensor> {
    const { H, D, Hout, G } = dims(this.config);
    const heap = this.be.f32, rows = T * B, s = [T, B, H];
    const out: Record<string, Tensor> = {};
    GATE_NAMES.forEach((name, q) => { out[name] = { data: readRows(heap, act + 4 * q * H, G, rows, H), shape: s }; });
    out.c = { data: heap.slice(cs >>> 2, (cs >>> 2) + rows * H), shape: s };
    out.h = { data: readRows(heap, y + 4 * d * Hout, D * Hout, rows, Hout), shape: [T, B, Hout] };
    if (this.config.projSize > 0) out.m = { data: heap.slice(m >>> 2, (m >>> 2) + rows * H), shape: s };
    return out;
  }

  /**
   * Backpropagation through time for the last forward called with { train: true }.
   * Adds the parameter gradients into the model's gradient buffers (call zeroGrad() between steps).
   * @param grads dy [T,B,D*Hout] (as y), dhn [L*D,B,Hout], dcn [L*D,B,H]; each defaults to zeros.
   * @returns dx (shaped as x), dh0 [L*D,B,Hout], dc0 [L*D,B,H].
   * @throws LSTMError without a training forward, or on bad shapes.
   */
  backward(grads: BackwardOptions = {}): BackwardResult {
    this.live();
    checkKeys("gradients", grads, ["dy", "dhn", "dcn"]);
    const c = this.cache;
    if (!c) throw new LSTMError("backward", "a previous forward(x, { train: true })", "no training forward since the model was created or its weights were loaded");
    const { H, D, Hout, L, I, G } = dims(this.config);
    const { T, B, p } = c, bf = this.config.batchFirst, TB = T * B, LD = L * D;
    const proj = this.config.projSize > 0;
    const dy = grads.dy === undefined ? null : toTensor("gradients.dy", grads.dy, bf ? [B, T, D * Hout] : [T, B, D * Hout]);
    const dhn = grads.dhn === undefined ? null : toTensor("gradients.dhn", grads.dhn, [LD, B, Hout]);
    const dcn = grads.dcn === undefined ? null : toTensor("gradients.dcn", grads.dcn, [LD, B, H]);
    const maxIn = Math.max(I, D * Hout);
    const q: Ptrs = this.backWs.plan({
      dy: TB * D * Hout, dmid0: L > 2 ? TB * D * Hout : 0, dmid1: L > 1 ? TB * D * Hout : 0, dx: TB * I,
      da: TB * G, dht: proj ? TB * Hout : 0, dm: B * H, dhs: B * Hout, dh: LD * B * Hout, dc: LD * B * H,
      wih: G * maxIn, whh: G * Hout, whr: proj ? Hout * H : 0,
    });
    const heap = this.be.f32, K = this.be.k, w = this.params, gr = this.gradPtr;
    if (dy) copyIn(heap, q.dy, dy.data, T, B, D * Hout, bf); else heap.fill(0, q.dy >>> 2, (q.dy >>> 2) + TB * D * Hout);
    if (dhn) heap.set(dhn.data, q.dh >>> 2); else heap.fill(0, q.dh >>> 2, (q.dh >>> 2) + LD * B * Hout);
    if (dcn) heap.set(dcn.data, q.dc >>> 2); else heap.fill(0, q.dc >>> 2, (q.dc >>> 2) + LD * B * H);
    const at = (base: number, off: number) => (off < 0 ? 0 : base + 4 * off);
    for (let l = L - 1; l >= 0; l--) {
      const In = l === 0 ? I : D * Hout;
      const dOut = l === L - 1 ? q.dy : q[`dmid${(l + 1) % 2}`];
      const dIn = l === 0 ? q.dx : q[`dmid${l % 2}`];
      heap.fill(0, dIn >>> 2, (dIn >>> 2) + TB * In);
      const xin = l === 0 ? p.x : p[`y${l - 1}`];
      for (let d = 0; d < D; d++) {
        const k = l * D + d, g = this.layout.groups[k];
        K.transpose(q.wih, w + 4 * g.wih, In, G);
        K.transpose(q.whh, w + 4 * g.whh, Hout, G);
        if (proj) K.transpose(q.whr, w + 4 * g.whr, H, Hout);
        K.lstm_backward(dIn, In, q.dh + 4 * k * B * Hout, q.dc + 4 * k * B * H,
          at(gr, g.wih), at(gr, g.whh), at(gr, g.bih), at(gr, g.bhh), at(gr, g.whr), at(gr, g.pi), at(gr, g.pf), at(gr, g.po),
          q.da, q.dht, q.dm, q.dhs, dOut + 4 * d * Hout, D * Hout,
          xin, p[`act${k}`], p[`cs${k}`], p[`cp${k}`], p[`hp${k}`], p[`m${k}`], q.wih, q.whh, q.whr,
          at(w, g.pi), at(w, g.pf), at(w, g.po), c.lens, T, B, In, H, Hout, d);
      }
    }
    const out = this.be.f32;
    return {
      dx: { data: copyOut(out, q.dx, T, B, I, bf), shape: bf ? [B, T, I] : [T, B, I] },
      dh0: { data: out.slice(q.dh >>> 2, (q.dh >>> 2) + LD * B * Hout), shape: [LD, B, Hout] },
      dc0: { data: out.slice(q.dc >>> 2, (q.dc >>> 2) + LD * B * H), shape: [LD, B, H] },
    };
  }

  /** A zero state for {@link step}: h [L,B,Hout], c [L,B,H]. */
  initialState(batch: number): LSTMState {
    this.live();
    const B = checkInt("batch", batch);
    const { H, D, Hout, L } = dims(this.config);
    return { h: { data: new Float32Array(L * D * B * Hout), shape: [L * D, B, Hout] }, c: { data: new Float32Array(L * D * B * H), shape: [L * D, B, H] } };
  }

  /**
   * One time step for streaming: feeds xt [B,I] through every layer, updates `state` in place.
   * Equals forward() on the sequence so far.
   * @returns the top layer's h [B,Hout], a new tensor.
   * @throws LSTMError for a bidirectional model (a step cannot see the future) or bad shapes.
   */
  step(xt: TensorLike, state: LSTMState): Tensor {
    this.live();
    if (this.config.bidirectional) throw new LSTMError("step", "a unidirectional model (a step cannot see later inputs)", "a bidirectional model");
    const { H, Hout, L, I } = dims(this.config);
    if (state === null || typeof state !== "object") throw new LSTMError("state", "an LSTMState { h, c } from initialState()", describe(state));
    for (const key of ["h", "c"] as const) {
      const t = state[key];
      if (!t || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
        throw new LSTMError(`state.${key}`, "a { data: Float32Array, shape } tensor (updated in place)", describe(t));
      }
    }
    const B = state.h.shape[1];
    if (!Number.isInteger(B) || B < 1) throw new LSTMError("state.h", `shape [${L},B,${Hout}]`, `shape [${state.h.shape.join(",")}]`);
    toTensor("state.h", state.h, [L, B, Hout]);
    toTensor("state.c", state.c, [L, B, H]);
    const x = toTensor("xt", xt, [B, I]);
    const p = this.planInfer(1, B, false, false);
    const heap = this.be.f32;
    heap.set(x.data, p.x >>> 2);
    heap.set(state.h.data, p.h >>> 2);
    heap.set(state.c.data, p.c >>> 2);
    const top = this.run(p, 1, B, false);
    state.h.data.set(heap.subarray(p.h >>> 2, (p.h >>> 2) + L * B * Hout));
    state.c.data.set(heap.subarray(p.c >>> 2, (p.c >>> 2) + L * B * H));
    return { data: heap.slice(top >>> 2, (top >>> 2) + B * Hout), shape: [B, Hout] };
  }

  /** The parameters as fresh tensors, with torch.nn.LSTM's names and shapes. */
  stateDict(): Record<string, Tensor> {
    this.live();
    return this.readBlock(this.params);
  }

  /** The accumulated gradients, with the names and shapes of stateDict(). */
  grads(): Record<string, Tensor> {
    this.live();
    return this.readBlock(this.gradPtr);
  }

  private readBlock(ptr: number): Record<string, Tensor> {
    const heap = this.be.f32, out: Record<string, Tensor> = {};
    for (const e of this.layout.entries) out[e.name] = { data: readEntry(e, heap, ptr >>> 2), shape: e.shape.slice() };
    return out;
  }

  /**
   * Replace every parameter. All keys of stateDict() are required and no others are allowed.
   * Everything is validated before anything is written, so a refused dict leaves the old weights.
   */
  loadStateDict(dict: Record<string, TensorLike>): void {
    this.live();
    if (dict === null || typeof dict !== "object" || Array.isArray(dict)) throw new LSTMError("stateDict", "an object of named tensors", describe(dict));
    const names = new Set(this.layout.entries.map((e) => e.name));
    for (const key of Object.keys(dict)) {
      if (!names.has(key)) throw new LSTMError(`stateDict["${key}"]`, `only the keys ${[...names].join(", ")}`, "an unknown key");
    }
    const values = this.layout.entries.map((e) => {
      if (!Object.prototype.hasOwnProperty.call(dict, e.name)) throw new LSTMError(`stateDict["${e.name}"]`, `a tensor of shape [${e.shape.join(",")}]`, "a missing key");
      return toTensor(`stateDict["${e.name}"]`, dict[e.name], e.shape).data;
    });
    const heap = this.be.f32;
    this.layout.entries.forEach((e, i) => writeEntry(e, values[i], heap, this.params >>> 2));
    this.cache = null; // activations saved under the old weights must not meet the new ones in backward
  }

  /** Set every gradient to 0. */
  zeroGrad(): void {
    this.live();
    this.be.f32.fill(0, this.gradPtr >>> 2, (this.gradPtr >>> 2) + this.layout.total);
  }

  /**
   * Clip the model's gradients in place by their global L2 norm: if ‖g‖ > maxNorm, g ← g·maxNorm/‖g‖.
   * @returns the norm before clipping.
   */
  clipGradNorm(maxNorm: number): number {
    this.live();
    if (typeof maxNorm !== "number" || !(maxNorm >= 0)) throw new LSTMError("maxNorm", "a number >= 0", describe(maxNorm));
    const K = this.be.k, n = this.layout.total;
    const total = Math.sqrt(K.sum_squares(this.gradPtr, n));
    if (total > maxNorm) K.scale(this.gradPtr, n, maxNorm / total);
    return total;
  }

  /** Free the model's wasm memory. Any later call throws LSTMError; a second dispose() is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache = null;
    this.trainWs.free();
    this.inferWs.free();
    this.backWs.free();
    this.be.arena.release(this.params);
    this.be.arena.release(this.gradPtr);
  }

  private live(): void {
    if (this.disposed) throw new LSTMError("lstm", "a model that has not been disposed", "a disposed model");
  }
}
