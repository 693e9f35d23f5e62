// The seam between a model and its kernels: where its buffers live in wasm memory and which
// kernel runs on which of them. Everything here trusts its arguments; src/lstm.ts validates.
import type { Tensor } from "./tensor";
import type { Backend } from "./wasm/backend";
import { Workspace } from "./wasm/workspace";
import { type LSTMConfig, type Layout, layoutParams, dims, panelSize } from "./layout";
import { ParamBlock } from "./params";
import { readRows } from "./io";

type Dims = ReturnType<typeof dims>;
/** Byte pointers of named buffers (0 = absent). */
export type Ptrs = Record<string, number>;
/** Absolute byte pointers of one (layer, direction)'s tensors in a parameter or gradient block. */
interface GroupPtrs { wih: number; whh: number; bih: number; bhh: number; whr: number; pi: number; pf: number; po: number }
/** What backward() needs from the last training forward. */
export interface Cache { T: number; B: number; p: Ptrs }

const GATE_NAMES = ["i", "f", "g", "o"] as const;

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
  private inferPlan: Ptrs = {};
  private trainKey = [-1, -1, -1];
  private trainPlan: Ptrs = {};
  private backKey = [-1, -1];
  private backPlan: Ptrs = {};
  /** What backward() needs from the last training forward, or null. */
  cache: Cache | null = null;
  private readonly saved: Cache = { T: 0, B: 0, p: {} };
  // Buffer names per layer (y0, y1, …) and per layer-direction (act0, …), made once: building them
  // with template strings in every call would allocate.
  private readonly nm: { y: string[]; act: string[]; cs: string[]; cp: string[]; hp: string[]; m: string[] };

  constructor(readonly be: Backend, readonly cfg: LSTMConfig) {
    this.d = dims(cfg);
    const LD = this.d.L * this.d.D, names = (prefix: string, n: number) => Array.from({ length: n }, (_, k) => `${prefix}${k}`);
    this.nm = { y: names("y", this.d.L), act: names("act", LD), cs: names("cs", LD), cp: names("cp", LD), hp: names("hp", LD), m: names("m", LD) };
    this.layout = layoutParams(cfg);
    this.blk = new ParamBlock(be, this.layout.entries, this.layout.total);
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

  /** Remember a training forward's plan for backward(). */
  keep(T: number, B: number, p: Ptrs): void {
    const c = this.saved;
    c.T = T; c.B = B; c.p = p;
    this.cache = c;
  }

  /** Buffers of a training forward: every layer's output and every direction's saved state. */
  planTrain(T: number, B: number, lengths: boolean): Ptrs {
    const key = this.trainKey, flag = lengths ? 1 : 0;
    if (key[0] === T && key[1] === B && key[2] === flag) {
      this.cache = null; // its buffers are about to be overwritten
      return this.trainPlan;
    }
    const { H, D, Hout, L, I, G } = this.d;
    const TB = T * B, LD = L * D, proj = this.cfg.projSize > 0;
    const sizes: Record<string, number> = { x: TB * I, lens: lengths ? B : 0, h: LD * B * Hout, c: LD * B * H };
    for (let l = 0; l < L; l++) sizes[`y${l}`] = TB * D * Hout;
    for (let k = 0; k < LD; k++) {
      sizes[`act${k}`] = TB * G; sizes[`cs${k}`] = TB * H; sizes[`cp${k}`] = TB * H;
      sizes[`hp${k}`] = TB * Hout; sizes[`m${k}`] = proj ? TB * H : 0;
    }
    const p = this.trainWs.plan(sizes); // a refusal here leaves the last training forward usable
    this.cache = null; // its buffers are about to be overwritten
    this.trainPlan = p;
    key[0] = T; key[1] = B; key[2] = flag;
    return p;
  }

  /**
   * Zero the input at padded steps (t >= lengths[b]). The kernels never use those rows' results, but
   * dW_ih = xᵀ·dA would turn a NaN there into NaN gradients (0·NaN); PyTorch's packing never reads them.
   */
  zeroPadding(p: Ptrs, T: number, B: number, lengths: ArrayLike<number>): void {
    const heap = this.be.f32, I = this.d.I, at = p.x >>> 2;
    for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) heap.fill(0, at + (t * B + b) * I, at + (t * B + b + 1) * I);
  }

  /** Buffers of an inference forward or a step: one layer's scratch, reused by every layer. */
  planInfer(T: number, B: number, gates: boolean, lengths: boolean): Ptrs {
    const key = this.inferKey, flags = (gates ? 1 : 0) + (lengths ? 2 : 0);
    if (key[0] === T && key[1] === B && key[2] === flags) return this.inferPlan;
    const { H, D, Hout, L, I, G } = this.d;
    const TB = T * B, LD = L * D, proj = this.cfg.projSize > 0;
    this.inferPlan = this.inferWs.plan({
      x: TB * I, lens: lengths ? B : 0, h: LD * B * Hout, c: LD * B * H,
      ya: TB * D * Hout, yb: L > 1 ? TB * D * Hout : 0, act: TB * G,
      cs: gates ? TB * H : 0, m: proj ? (gates ? TB * H : B * H) : 0,
    });
    key[0] = T; key[1] = B; key[2] = flags;
    return this.inferPlan;
  }

  /** Every layer and direction through lstm_forward; returns the pointer to the top layer's y. */
  run(p: Ptrs, T: number, B: number, train: boolean, gates?: Record<string, Record<string, Tensor>>): number {
    const { H, D, Hout, L, I } = this.d;
    const K = this.be.k;
    const proj = this.cfg.projSize > 0;
    let input = p.x, In = I;
    const nm = this.nm;
    for (let l = 0; l < L; l++) {
      const y = train ? p[nm.y[l]] : l % 2 === 0 ? p.ya : p.yb;
      for (let d = 0; d < D; d++) {
        const k = l * D + d, w = this.pg[k];
        const act = train ? p[nm.act[k]] : p.act;
        const cs = train ? p[nm.cs[k]] : p.cs;
        const m = train ? p[nm.m[k]] : p.m;
        const mts = proj && (train || gates) ? B * H : 0;
        K.lstm_forward(y + 4 * d * Hout, D * Hout, p.h + 4 * k * B * Hout, p.c + 4 * k * B * H, act,
          cs, train ? p[nm.cp[k]] : 0, train ? p[nm.hp[k]] : 0, m, mts, input, In,
          w.wih, w.whh, w.bih, w.bhh, w.whr, w.pi, w.pf, w.po, p.lens, T, B, In, H, Hout, this.rev(d));
        if (gates) gates[`l${l}${d ? "_reverse" : ""}`] = this.readGates(act, cs, m, y, d, T, B);
      }
      input = y;
      In = D * Hout;
    }
    return input;
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

  /** Buffers of a backward pass for the cached forward. */
  planBackward(T: number, B: number): Ptrs {
    const key = this.backKey;
    if (key[0] === T && key[1] === B) return this.backPlan;
    const { H, D, Hout, L, I, G } = this.d;
    const TB = T * B, LD = L * D, proj = this.cfg.projSize > 0;
    this.backPlan = this.backWs.plan({
      dy: TB * D * Hout, dmid0: L > 2 ? TB * D * Hout : 0, dmid1: L > 1 ? TB * D * Hout : 0, dx: TB * I,
      da: TB * G, dht: proj ? TB * Hout : 0, dm: B * H, dhs: B * Hout, dh: LD * B * Hout, dc: LD * B * H,
      wih: panelSize(Math.max(I, D * Hout), G), whh: panelSize(Hout, G), whr: proj ? panelSize(H, Hout) : 0,
      pack: this.be.k.gemm_scratch_size(TB, G),
    });
    key[0] = T; key[1] = B;
    return this.backPlan;
  }

  /** BPTT through every layer, top down; q.dy/dh/dc hold the upstream gradients, q.dx/dh/dc get the results. */
  backward(c: Cache, q: Ptrs): void {
    const { H, D, Hout, L, I, G } = this.d;
    const { T, B, p } = c;
    const K = this.be.k, heap = this.be.f32, TB = T * B, proj = this.cfg.projSize > 0, nm = this.nm;
    for (let l = L - 1; l >= 0; l--) {
      const In = l === 0 ? I : D * Hout;
      const dOut = l === L - 1 ? q.dy : (l + 1) % 2 === 0 ? q.dmid0 : q.dmid1;
      const dIn = l === 0 ? q.dx : l % 2 === 0 ? q.dmid0 : q.dmid1;
      heap.fill(0, dIn >>> 2, (dIn >>> 2) + TB * In);
      const xin = l === 0 ? p.x : p[nm.y[l - 1]];
      for (let d = 0; d < D; d++) {
        const k = l * D + d, w = this.pg[k], g = this.gg[k];
        K.transpose_packed(q.wih, w.wih, In, G);
        K.transpose_packed(q.whh, w.whh, Hout, G);
        if (proj) K.transpose_packed(q.whr, w.whr, H, Hout);
        K.lstm_backward(dIn, In, q.dh + 4 * k * B * Hout, q.dc + 4 * k * B * H,
          g.wih, g.whh, g.bih, g.bhh, g.whr, g.pi, g.pf, g.po,
          q.da, q.dht, q.dm, q.dhs, q.pack, dOut + 4 * d * Hout, D * Hout,
          xin, p[nm.act[k]], p[nm.cs[k]], p[nm.cp[k]], p[nm.hp[k]], p[nm.m[k]], q.wih, q.whh, q.whr,
          w.pi, w.pf, w.po, p.lens, T, B, In, H, Hout, this.rev(d));
      }
    }
  }

  /** Whether direction d runs backwards in time: the second of a pair, or the only one of a reverse model. */
  private rev(d: number): number {
    return d === 1 || this.cfg.reverse ? 1 : 0;
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
