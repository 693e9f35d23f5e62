// The seam between an LSTM and its kernels: where its buffers live in wasm memory and which
// kernel runs on which of them. Everything here trusts its arguments; src/lstm.ts validates.
import type { Tensor } from "./tensor";
import { type Backend, type Kernels, gemmScratch } from "./wasm/backend";
import { Workspace, type Ptrs } from "./wasm/workspace";
import { type LSTMConfig, type Layout, layoutParams, dims, panelSize } from "./layout";
import { ParamBlock } from "./params";
import { readRows } from "./io";

type Dims = ReturnType<typeof dims>;
/** Absolute byte pointers of one (layer, direction)'s tensors in a parameter or gradient block (0: absent). */
interface GroupPtrs { wih: number; whh: number; bih: number; bhh: number; whr: number; pi: number; pf: number; po: number }

/** What one call feeds the layers: the input rows and which steps are processed. */
export interface RunInput {
  /** [T,B,I] input rows. */
  x: number;
  /** i32 [B] valid lengths (PyTorch's packed sequences) or 0. */
  lens: number;
  /** i32 [T,B] Keras mask (nonzero: processed) or 0; never with lens. */
  mask: number;
}
/** Dropout keys of one call: `stream` advances with every mask drawn. */
export interface DropoutKeys { seed: number; stream: number }

// Sizes in floats of each plan. `ownX`: the plan holds the input rows (a standalone call copies
// x there); inside a Sequential the input is the previous layer's output.
function trainSizes(d: Dims, cfg: LSTMConfig, T: number, B: number, lengths: boolean, ownX: boolean) {
  const { H, D, Hout, L, I, G } = d;
  const TB = T * B, LD = L * D, proj = cfg.projSize > 0, perLD = (n: number) => new Array<number>(LD).fill(n);
  return {
    x: ownX ? TB * I : 0, lens: lengths ? B : 0, h: LD * B * Hout, c: LD * B * H, flip: cfg.goBackwards ? B * D * Hout : 0,
    y: new Array<number>(L).fill(TB * D * Hout),
    drop: new Array<number>(L - 1).fill(cfg.dropout > 0 ? TB * D * Hout : 0),
    act: perLD(TB * G), cs: perLD(TB * H), cp: perLD(TB * H), hp: perLD(TB * Hout), m: perLD(proj ? TB * H : 0),
  };
}
function inferSizes(d: Dims, cfg: LSTMConfig, T: number, B: number, gates: boolean, lengths: boolean, ownX: boolean) {
  const { H, D, Hout, L, I, G } = d;
  const TB = T * B, LD = L * D, proj = cfg.projSize > 0;
  return {
    x: ownX ? TB * I : 0, lens: lengths ? B : 0, h: LD * B * Hout, c: LD * B * H, flip: cfg.goBackwards ? B * D * Hout : 0,
    ya: TB * D * Hout, yb: L > 1 ? TB * D * Hout : 0, act: TB * G,
    cs: gates ? TB * H : 0, m: proj ? (gates ? TB * H : B * H) : 0,
  };
}
function backSizes(k: Kernels, d: Dims, cfg: LSTMConfig, T: number, B: number, threads: number) {
  const { H, D, Hout, L, I, G } = d;
  const TB = T * B, LD = L * D, proj = cfg.projSize > 0;
  return {
    dy: TB * D * Hout, dmid0: L > 2 ? TB * D * Hout : 0, dmid1: L > 1 ? TB * D * Hout : 0, dx: TB * I,
    da: TB * G, dht: proj ? TB * Hout : 0, dm: B * H, dhs: B * Hout, dh: LD * B * Hout, dc: LD * B * H,
    flip: cfg.goBackwards ? B * D * Hout : 0,
    wih: panelSize(Math.max(I, D * Hout), G), whh: panelSize(Hout, G), whr: proj ? panelSize(H, Hout) : 0,
    // dW's packing in lstm_backward, a share per thread (G >= every width it packs: G, Hout)
    pack: threads * gemmScratch(k, TB, G),
  };
}
/** The buffers of a training forward, kept for backward: per layer, and per (layer, direction). */
export type TrainPlan = Ptrs<ReturnType<typeof trainSizes>>;
/** The buffers of an inference forward or a step. */
export type InferPlan = Ptrs<ReturnType<typeof inferSizes>>;
/** The buffers of a backward pass. */
export type BackPlan = Ptrs<ReturnType<typeof backSizes>>;

/** What backward() needs from the last training forward. */
/** What backward needs of the last training forward; `inModel`: it ran inside a model's pass (Sequential). */
export interface Cache { T: number; B: number; p: TrainPlan; in: RunInput; inModel: boolean }

const GATE_NAMES = ["i", "f", "g", "o"] as const;
const RACT = { sigmoid: 0, hardSigmoid: 1 } as const;

export class Engine {
  readonly d: Dims;
  readonly layout: Layout;
  readonly blk: ParamBlock;
  private pg: GroupPtrs[] = [];
  private gg: GroupPtrs[] = [];
  private readonly trainWs: Workspace;
  private readonly inferWs: Workspace;
  private readonly backWs: Workspace;
  // The last plan of each kind, reused while the sizes repeat (streaming steps, same-size batches,
  // a training loop), so a steady stream of calls plans, and allocates, nothing.
  private inferKey = [-1, -1, -1];
  private inferPlan: InferPlan | null = null;
  private trainKey = [-1, -1, -1];
  private trainPlan: TrainPlan | null = null;
  private backKey = [-1, -1, -1];
  private backPlan: BackPlan | null = null;
  /** What backward() needs from the last training forward, or null. */
  cache: Cache | null = null;
  private readonly saved: Cache = { T: 0, B: 0, p: null as unknown as TrainPlan, in: { x: 0, lens: 0, mask: 0 }, inModel: false };
  private readonly ract: number;
  // The sequence kernels' argument lists, reused by every call (their last three: sync, nth, tid).
  private readonly fwdArgs: number[] = Array.from({ length: 32 }, () => 0); // packed, not holey: no hole checks
  private readonly backArgs: number[] = Array.from({ length: 43 }, () => 0);
  /** Threads the last backward plan has scratch for. */
  private backThreads = 1;

  constructor(readonly be: Backend, readonly cfg: LSTMConfig) {
    this.d = dims(cfg);
    this.layout = layoutParams(cfg);
    this.blk = new ParamBlock(be, this.layout.entries, this.layout.total);
    this.ract = RACT[cfg.recurrentActivation];
    this.bind();
    this.trainWs = new Workspace(be, "training buffers");
    this.inferWs = new Workspace(be, "inference buffers");
    this.backWs = new Workspace(be, "backward buffers");
  }

  // Absolute pointers of every group's tensors, re-taken when the blocks move.
  private bind(): void {
    const ptrs = (base: number) => this.layout.groups.map((g): GroupPtrs => {
      const at = (off: number) => (off < 0 ? 0 : base + 4 * off);
      return { wih: at(g.wih), whh: at(g.whh), bih: at(g.bih), bhh: at(g.bhh), whr: at(g.whr), pi: at(g.pi), pf: at(g.pf), po: at(g.po) };
    });
    this.pg = ptrs(this.blk.params);
    this.gg = ptrs(this.blk.grads);
  }

  /** Move parameters and gradients into a model's shared block. */
  moveTo(params: number, grads: number): void {
    this.blk.moveTo(params, grads);
    this.bind();
  }

  // Views of result buffers in wasm memory, kept while the heap lasts: a call copies its results
  // out through them instead of creating a subarray each time. The plans are cached, so the same
  // few (pointer, length) pairs come back call after call.
  private viewHeap: Float32Array | null = null;
  private readonly views: Float32Array[] = [];
  /** The floats [ptr/4, ptr/4 + n) of wasm memory as a view (valid until memory grows). */
  view(ptr: number, n: number): Float32Array {
    const heap = this.be.f32, vs = this.views;
    if (heap !== this.viewHeap) { vs.length = 0; this.viewHeap = heap; }
    for (let i = 0; i < vs.length; i++) if (vs[i].byteOffset === ptr && vs[i].length === n) return vs[i];
    if (vs.length === 16) vs.shift();
    const v = heap.subarray(ptr >>> 2, (ptr >>> 2) + n);
    vs.push(v);
    return v;
  }
  readonly viewFn = (ptr: number, n: number): Float32Array => this.view(ptr, n);

  /** Remember a training forward's plan and input for backward(). */
  keep(T: number, B: number, p: TrainPlan, input: RunInput, inModel: boolean): void {
    const c = this.saved;
    c.T = T; c.B = B; c.p = p; c.inModel = inModel;
    c.in.x = input.x; c.in.lens = input.lens; c.in.mask = input.mask;
    this.cache = c;
  }

  /** Bytes of the plans a call of T steps and B rows makes (training: forward and backward), allocating nothing. */
  bytesFor(T: number, B: number, train: boolean, ownX: boolean): number {
    return train ? Workspace.bytes(trainSizes(this.d, this.cfg, T, B, false, ownX)) + Workspace.bytes(backSizes(this.be.k, this.d, this.cfg, T, B, this.be.threads))
      : Workspace.bytes(inferSizes(this.d, this.cfg, T, B, false, false, ownX));
  }

  /** Buffers of a training forward: every layer's output and every direction's saved state. */
  planTrain(T: number, B: number, lengths: boolean, ownX = true): TrainPlan {
    const key = this.trainKey, flag = (lengths ? 1 : 0) + (ownX ? 2 : 0);
    if (key[0] === T && key[1] === B && key[2] === flag && this.trainPlan) {
      this.cache = null; // its buffers are about to be overwritten
      return this.trainPlan;
    }
    const p = this.trainWs.plan(trainSizes(this.d, this.cfg, T, B, lengths, ownX)); // a refusal here leaves the last training forward usable
    this.cache = null;
    this.trainPlan = p;
    key[0] = T; key[1] = B; key[2] = flag;
    return p;
  }

  /** Buffers of an inference forward or a step: one layer's scratch, reused by every layer. */
  planInfer(T: number, B: number, gates: boolean, lengths: boolean, ownX = true): InferPlan {
    const key = this.inferKey, flags = (gates ? 1 : 0) + (lengths ? 2 : 0) + (ownX ? 4 : 0);
    if (key[0] === T && key[1] === B && key[2] === flags && this.inferPlan) return this.inferPlan;
    this.inferPlan = this.inferWs.plan(inferSizes(this.d, this.cfg, T, B, gates, lengths, ownX));
    key[0] = T; key[1] = B; key[2] = flags;
    return this.inferPlan;
  }

  /** Buffers of a backward pass for the cached forward. */
  planBackward(T: number, B: number): BackPlan {
    const key = this.backKey;
    if (key[0] === T && key[1] === B && key[2] === this.be.threads && this.backPlan) return this.backPlan;
    this.backPlan = this.backWs.plan(backSizes(this.be.k, this.d, this.cfg, T, B, this.be.threads));
    key[0] = T; key[1] = B; key[2] = this.be.threads; this.backThreads = this.be.threads;
    return this.backPlan;
  }

  /**
   * Zero the input at padded steps (t >= lengths[b]). The kernels never use those rows' results, but
   * dW_ih = xᵀ·dA would turn a NaN there into NaN gradients (0·NaN); PyTorch's packing never reads them.
   */
  zeroPadding(x: number, T: number, B: number, lengths: ArrayLike<number>): void {
    const heap = this.be.f32, I = this.d.I, at = x >>> 2;
    for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) heap.fill(0, at + (t * B + b) * I, at + (t * B + b + 1) * I);
  }

  /**
   * Every layer and direction through lstm_forward; returns the pointer to the top layer's y
   * [T,B,D·Hout] (in processing order with goBackwards). In training, with `dropout`, each layer's
   * output but the last is dropped in place, keyed by `keys` (see assembly/dropout.ts).
   */
  run(p: TrainPlan | InferPlan, input: RunInput, T: number, B: number, train: boolean, keys: DropoutKeys | null,
      gates?: Record<string, Record<string, Tensor>>): number {
    const { H, D, Hout, L, I } = this.d;
    const K = this.be.k;
    const proj = this.cfg.projSize > 0;
    const tp = train ? (p as TrainPlan) : null, ip = train ? null : (p as InferPlan);
    let x = input.x, In = I;
    const nth = this.be.threadsFor(B * 4 * H * Hout, T);
    for (let l = 0; l < L; l++) {
      const y = tp ? tp.y[l] : l % 2 === 0 ? ip!.ya : ip!.yb;
      for (let d = 0; d < D; d++) {
        const k = l * D + d, w = this.pg[k];
        const act = tp ? tp.act[k] : ip!.act;
        const cs = tp ? tp.cs[k] : ip!.cs;
        const m = tp ? tp.m[k] : ip!.m;
        const mts = proj && (train || gates) ? B * H : 0;
        const a = this.fwdArgs;
        a[0] = y + 4 * d * Hout; a[1] = D * Hout; a[2] = p.h + 4 * k * B * Hout; a[3] = p.c + 4 * k * B * H; a[4] = act;
        a[5] = cs; a[6] = tp ? tp.cp[k] : 0; a[7] = tp ? tp.hp[k] : 0; a[8] = m; a[9] = mts; a[10] = x; a[11] = In;
        a[12] = w.wih; a[13] = w.whh; a[14] = w.bih; a[15] = w.bhh; a[16] = w.whr; a[17] = w.pi; a[18] = w.pf; a[19] = w.po;
        a[20] = input.lens; a[21] = input.mask; a[22] = T; a[23] = B; a[24] = In; a[25] = H; a[26] = Hout; a[27] = this.rev(d); a[28] = this.ract;
        if (nth > 1) this.be.runKernel("lstm_forward", a, nth);
        else K.lstm_forward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16],
          a[17], a[18], a[19], a[20], a[21], a[22], a[23], a[24], a[25], a[26], a[27], a[28], 0, 1, 0);
        if (gates) gates[`l${l}${d ? "_reverse" : ""}`] = this.readGates(act, cs, m, y, d, T, B);
      }
      if (tp && keys && l < L - 1 && this.cfg.dropout > 0) {
        K.dropout_forward(y, tp.drop[l], y, T * B * D * Hout, this.cfg.dropout, keys.seed >>> 0, keys.stream++ >>> 0, 0);
      }
      x = y;
      In = D * Hout;
    }
    if (this.cfg.goBackwards) this.flipTime(x, T, B * D * Hout, p.flip);
    return x;
  }

  /** Reverse the time axis of [T,B,W] rows in place (`tmp` holds one step). */
  private flipTime(ptr: number, T: number, BW: number, tmp: number): void {
    const heap = this.be.f32, at = ptr >>> 2, s = tmp >>> 2;
    for (let t = 0; t < T - 1 - t; t++) {
      const a = at + t * BW, b = at + (T - 1 - t) * BW;
      heap.copyWithin(s, a, a + BW);
      heap.copyWithin(a, b, b + BW);
      heap.copyWithin(b, s, s + BW);
    }
  }

  private readGates(act: number, cs: number, m: number, y: number, d: number, T: number, B: number): Record<string, Tensor> {
    const { H, D, Hout, G } = this.d;
    const heap = this.be.f32, rows = T * B, s = [T, B, H];
    const out: Record<string, Tensor> = {};
    GATE_NAMES.forEach((name, q) => { out[name] = { data: readRows(heap, act + 4 * q * H, G, rows, H), shape: s.slice() }; });
    out.c = { data: heap.slice(cs >>> 2, (cs >>> 2) + rows * H), shape: s.slice() };
    out.h = { data: readRows(heap, y + 4 * d * Hout, D * Hout, rows, Hout), shape: [T, B, Hout] };
    if (this.cfg.projSize > 0) out.m = { data: heap.slice(m >>> 2, (m >>> 2) + rows * H), shape: s.slice() };
    return out;
  }

  /**
   * BPTT through every layer, top down. q.dy [T,B,D·Hout] (processing order with goBackwards; it
   * is reordered in place), q.dh, q.dc hold the upstream gradients; q.dx, q.dh, q.dc get the results.
   */
  backward(c: Cache, q: BackPlan): void {
    const { H, D, Hout, L, I, G } = this.d;
    const { T, B, p } = c;
    const K = this.be.k, heap = this.be.f32, TB = T * B, proj = this.cfg.projSize > 0;
    if (this.cfg.goBackwards) this.flipTime(q.dy, T, B * D * Hout, q.flip);
    const nth = Math.min(this.be.threadsFor(B * G * Hout, T), this.backThreads);
    for (let l = L - 1; l >= 0; l--) {
      const In = l === 0 ? I : D * Hout;
      const dOut = l === L - 1 ? q.dy : (l + 1) % 2 === 0 ? q.dmid0 : q.dmid1;
      const dIn = l === 0 ? q.dx : l % 2 === 0 ? q.dmid0 : q.dmid1;
      // The layer above saw this layer's output through dropout: the same mask scales the gradient.
      if (l < L - 1 && this.cfg.dropout > 0) K.dropout_backward(dOut, dOut, p.drop[l], TB * D * Hout);
      heap.fill(0, dIn >>> 2, (dIn >>> 2) + TB * In);
      const xin = l === 0 ? c.in.x : p.y[l - 1];
      for (let d = 0; d < D; d++) {
        const k = l * D + d, w = this.pg[k], g = this.gg[k];
        K.transpose_packed(q.wih, w.wih, In, G);
        K.transpose_packed(q.whh, w.whh, Hout, G);
        if (proj) K.transpose_packed(q.whr, w.whr, H, Hout);
        const a = this.backArgs;
        a[0] = dIn; a[1] = In; a[2] = q.dh + 4 * k * B * Hout; a[3] = q.dc + 4 * k * B * H;
        a[4] = g.wih; a[5] = g.whh; a[6] = g.bih; a[7] = g.bhh; a[8] = g.whr; a[9] = g.pi; a[10] = g.pf; a[11] = g.po;
        a[12] = q.da; a[13] = q.dht; a[14] = q.dm; a[15] = q.dhs; a[16] = q.pack; a[17] = dOut + 4 * d * Hout; a[18] = D * Hout;
        a[19] = xin; a[20] = p.act[k]; a[21] = p.cs[k]; a[22] = p.cp[k]; a[23] = p.hp[k]; a[24] = p.m[k]; a[25] = q.wih; a[26] = q.whh; a[27] = q.whr;
        a[28] = w.pi; a[29] = w.pf; a[30] = w.po; a[31] = c.in.lens; a[32] = c.in.mask; a[33] = T; a[34] = B; a[35] = In; a[36] = H; a[37] = Hout;
        a[38] = this.rev(d); a[39] = this.ract;
        // One thread: a positional call in place (a call through a helper or apply() allocated).
        if (nth > 1) this.be.runKernel("lstm_backward", a, nth);
        else K.lstm_backward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16],
          a[17], a[18], a[19], a[20], a[21], a[22], a[23], a[24], a[25], a[26], a[27], a[28], a[29], a[30], a[31], a[32], a[33], a[34],
          a[35], a[36], a[37], a[38], a[39], 0, 1, 0);
      }
    }
  }

  /** Whether direction d runs backwards in time: the second of a pair, or the only one of a reverse model. */
  private rev(d: number): number {
    return d === 1 || this.cfg.reverse || this.cfg.goBackwards ? 1 : 0;
  }

  free(): void {
    this.cache = null;
    this.trainWs.free();
    this.inferWs.free();
    this.backWs.free();
    this.inferKey[0] = -1;
    this.views.length = 0;
    this.viewHeap = null;
    this.trainKey[0] = -1;
    this.backKey[0] = -1;
    this.blk.free();
  }
}
