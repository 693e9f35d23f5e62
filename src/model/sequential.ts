// A model: a list of layers whose widths chain, one parameter block for all of them (so clipping
// and each optimizer update are one kernel call), and one call path: validate, gather a batch into
// wasm memory, run every layer's forward (and backward) over a per-call context, copy out.
import { LSTMError, describe, checkInt } from "../errors";
import { type Tensor, type TensorLike, toTensor, intact } from "../tensor";
import { LSTM, LSTMS } from "../lstm";
import { Linear, LINEARS } from "../linear";
import { Embedding, EMBEDDINGS } from "../layers/embedding";
import { Dropout, DROPOUTS } from "../layers/dropout";
import { Ctx, type Flow, type Port, type ModelLayer, LAYER_NAME } from "../layers/layer";
import { type Ids, type IdsLike, toIds } from "../ids";
import { Workspace } from "../wasm/workspace";
import { MAX_BYTES } from "../wasm/arena";
import type { Backend } from "../wasm/backend";
import { type LengthsLike, checkKeys, checkLengths, finite, outData } from "../io";
import { type ParamTarget, TargetSlot, registerTrainable } from "../optim";
import { Brand } from "../brand";
import { setInto } from "../typed";
import type { PreparedLoad } from "../params";
import { type FitOptions, type History, fit as fitModel } from "./fit";
import { saveModel, loadModel } from "./files";
import { fromTfjs, tfjsOriginOf, type TfjsOrigin, type TfjsWeightData } from "../interop/tfjs";
import { toTfjs, type TfjsExport, type ToTfjsOptions } from "../interop/tfjs_export";

/** A layer a Sequential takes. */
export type Layer = LSTM | Linear | Embedding | Dropout;

export interface SequentialOptions {
  /** Names that prefix each layer's state-dict keys (`lstm.weight_ih_l0`), as a PyTorch module's attributes. Default "0", "1", …. */
  names?: string[];
}

/** A streaming state: each LSTM's h [L,B,Hout] and c [L,B,H], in layer order. Updated in place by step(). */
export interface ModelState { h: Tensor[]; c: Tensor[] }

/** @internal Targets as the kernels take them: floats [N,(T,)O] for MSE, classes [N,(T)] for cross-entropy. */
export type Targets = { kind: "mse"; data: Float32Array } | { kind: "ce"; data: Int32Array };
/** @internal A model's inputs: ids [N,T] or features [N,T,I], owned copies. */
export interface Inputs { ids: Int32Array | null; x: Float32Array | null; N: number; T: number }
/** @internal What one batch gives back. */
export interface BatchResult { loss: number; pred: number; R: number; correct: number; counted: number }

const MODELS = new Brand("model", "a Sequential made with new Sequential(…) or Sequential.load(…)");
const KINDS = [LSTMS, LINEARS, EMBEDDINGS, DROPOUTS];
// Every layer speaks the protocol (checked here by the compiler).
const asModelLayer = (l: Layer): ModelLayer => l;

/**
 * Layers in a row, trained end to end in wasm. Any list whose widths chain: an optional Embedding
 * first, then LSTMs (each its own configuration), Dropouts anywhere, and Linears. An LSTM with
 * returnSequences: false hands the next layer each sequence's last output; a Linear applies to
 * every step of a sequence.
 * @example
 * const model = new Sequential([
 *   new Embedding({ numEmbeddings: 64, embeddingDim: 32 }),
 *   new LSTM({ inputSize: 32, hiddenSize: 128 }),
 *   new Dropout({ p: 0.2 }),
 *   new Linear({ inputSize: 128, outputSize: 4, activation: "softmax" }),
 * ], { names: ["embed", "lstm", "drop", "fc"] });
 * await model.fit(ids, labels, { epochs: 5, loss: "crossEntropy", optimizer: new Adam({ lr: 1e-3 }) });
 */
export class Sequential {
  readonly layers: readonly Layer[];
  readonly names: readonly string[];
  /** @internal The model's input: ids (with the vocabulary size) or features of `width`. */
  readonly input: Readonly<{ ids: boolean; vocab: number; width: number; maskZero: boolean }>;
  /** The port into each layer. */
  private readonly ports: readonly Port[];
  /** @internal The model's output port. */
  readonly output: Readonly<Port>;
  /** @internal */ readonly be: Backend;
  private readonly paramPtr: number;
  private readonly gradPtr: number;
  private readonly total: number;
  private readonly ws: Workspace;
  private readonly ctx = new Ctx();
  /** @internal Set while a fit runs (one at a time). */
  fitting = false;
  private disposed = false;

  /**
   * @param layers the layers, first to last; each may belong to one Sequential only.
   * @param opts.names one per layer, without "." (default "0", "1", …).
   * @throws LSTMError on a list whose widths do not chain (naming the layer and both widths), a
   *   disposed or shared layer, layers on different backends, or bad names.
   */
  constructor(layers: Layer[], opts: SequentialOptions = {}) {
    if (!Array.isArray(layers) || layers.length === 0 || layers.length > 4096) throw new LSTMError("layers", "a non-empty array of layers (LSTM, Linear, Embedding, Dropout)", describe(layers));
    checkKeys("options", opts, ["names"]);
    const list = Array.from(layers);
    list.forEach((l, i) => {
      if (!KINDS.some((k) => k.has(l))) throw new LSTMError(`layers[${i}]`, "an LSTM, Linear, Embedding or Dropout made by this library", describe(l));
      if (l.isDisposed) throw new LSTMError(`layers[${i}]`, "a layer that has not been disposed", "a disposed layer");
      const blk = asModelLayer(l).paramBlock();
      if (blk && !blk.ownsMemory) throw new LSTMError(`layers[${i}]`, "a layer not already part of a Sequential", "a layer another Sequential holds");
      if (list.indexOf(l) !== i) throw new LSTMError(`layers[${i}]`, "each layer once", `the layer at layers[${list.indexOf(l)}] again`);
    });
    const names = opts.names === undefined ? list.map((_, i) => String(i)) : checkNames(opts.names, list.length);
    const first = list[0];
    const ids = first instanceof Embedding;
    const width = ids ? 1 : inputWidth(list);
    let port: Port = { width, seq: true, ids };
    const ports: Port[] = [];
    for (let i = 0; i < list.length; i++) { ports.push(port); port = asModelLayer(list[i]).chain(port, `layers[${i}]`); }
    this.ports = ports;
    const blocks = list.map((l) => asModelLayer(l).paramBlock());
    const be = blocks.find((b) => b !== null)?.be ?? null;
    if (!be) throw new LSTMError("layers", "at least one layer with parameters", "only Dropout layers");
    list.forEach((l, i) => {
      const lb = blocks[i]?.be ?? (l as Dropout).be; // a layer without parameters is a Dropout
      if (lb !== be) throw new LSTMError(`layers[${i}]`, "layers created on the same backend", `${lb.name} and ${be.name}`);
    });
    this.layers = Object.freeze(list);
    this.names = Object.freeze(names);
    this.input = Object.freeze({ ids, vocab: ids ? (first as Embedding).config.numEmbeddings : 0, width, maskZero: ids && (first as Embedding).config.maskZero });
    this.output = Object.freeze(port);
    this.be = be;
    this.total = blocks.reduce((s, b) => s + (b ? b.total : 0), 0);
    this.paramPtr = be.arena.alloc(this.total * 4, "model parameters");
    try {
      this.gradPtr = be.arena.alloc(this.total * 4, "model gradients");
    } catch (err) {
      be.arena.release(this.paramPtr);
      throw err;
    }
    let at = 0;
    list.forEach((l, i) => {
      const b = blocks[i];
      if (!b) return;
      asModelLayer(l).moveParams(this.paramPtr + 4 * at, this.gradPtr + 4 * at);
      at += b.total;
    });
    this.ws = new Workspace(be, "model buffers");
    MODELS.add(this);
    registerTrainable(this, () => this.target);
  }

  /** @internal The block optimizers update. */
  get target(): ParamTarget {
    Sequential.live(this);
    return this.slot.get(this.be, this.paramPtr, this.gradPtr, this.total);
  }
  private readonly slot = new TargetSlot();

  /** A layer by name. */
  layer(name: string): Layer {
    Sequential.live(this);
    const i = this.names.indexOf(name);
    if (i < 0) throw new LSTMError("name", `one of ${this.names.join(", ")}`, describe(name));
    return this.layers[i];
  }

  /**
   * The model's outputs, without training (dropout off): [N,O] after an LSTM with
   * returnSequences: false, else [N,T,O]. Probabilities after a softmax Linear.
   * @param x [N,T] ids for an Embedding-first model, else [N,T,I] features (batch-first).
   * @param opts.lengths valid steps per sample (PyTorch's packed sequences). opts.batchSize rows per call (256).
   */
  predict(x: TensorLike | IdsLike, opts: { lengths?: LengthsLike; batchSize?: number } = {}): Tensor {
    Sequential.live(this);
    checkKeys("options", opts, ["lengths", "batchSize"]);
    const lengths = opts.lengths, bs = opts.batchSize;
    const data = this.inputs(x);
    const lens = this.lengths(lengths, data);
    const chunk = checkInt("options.batchSize", bs ?? 256);
    const { N, T } = data, O = this.output.width, rs = this.output.seq;
    const out = new Float32Array(N * (rs ? T : 1) * O);
    const idx = Int32Array.from({ length: N }, (_, i) => i);
    for (let b0 = 0; b0 < N; b0 += chunk) {
      const B = Math.min(chunk, N - b0);
      const { pred } = this.batch(data, lens, null, idx, b0, B, false);
      const heap = this.be.f32, at = pred >>> 2;
      for (let b = 0; b < B; b++) {
        const n = idx[b0 + b];
        if (!rs) out.set(heap.subarray(at + b * O, at + (b + 1) * O), n * O);
        else for (let t = 0; t < T; t++) out.set(heap.subarray(at + (t * B + b) * O, at + (t * B + b + 1) * O), (n * T + t) * O);
      }
    }
    return { data: out, shape: rs ? [N, T, O] : [N, O] };
  }

  /**
   * Train with mini-batches; yields to the event loop between batches. Deterministic for a seed
   * (shuffling and dropout masks). `fit` copies x and y when it starts: what callbacks do to the
   * caller's arrays later does not reach it.
   * @param x [N,T] ids for an Embedding-first model, else [N,T,I] features (batch-first).
   * @param y MSE: [N,O] (or [N,T,O] for sequence outputs). Cross-entropy: classes [N] (or [N,T]),
   *   as nested arrays, an Int32Array or a Float32Array of integral values.
   * @returns the mean training loss of each epoch, the validation loss with validationSplit > 0,
   *   and the accuracies with metrics: ['accuracy'].
   * @throws LSTMError on bad arguments, or when a loss or gradient turns non-finite: the weights
   *   from before that batch are kept.
   */
  fit(x: TensorLike | IdsLike, y: TensorLike | Int32Array, opts: FitOptions): Promise<History> {
    try {
      Sequential.live(this);
      return fitModel(this, x, y, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal The dropout keys of this model's calls (fit seeds them). */
  dropoutKeys(): { seed: number; stream: number } { return this.ctx.keys; }
  /** @internal */
  checkLive(): void { Sequential.live(this); }

  /**
   * The mean loss over a data set, without training (and the accuracy with metrics: ['accuracy']).
   * @param y as for fit.
   */
  evaluate(x: TensorLike | IdsLike, y: TensorLike | Int32Array, opts: { loss?: LossName; lengths?: LengthsLike; batchSize?: number } = {}): number {
    Sequential.live(this);
    checkKeys("options", opts, ["loss", "lengths", "batchSize"]);
    const lossName = opts.loss, lengths = opts.lengths, bs = opts.batchSize;
    const data = this.inputs(x);
    const loss = this.lossName(lossName);
    const Y = this.targets(y, loss, data.N, data.T);
    const lens = this.lengths(lengths, data);
    const idx = Int32Array.from({ length: data.N }, (_, i) => i);
    return this.meanLoss(data, lens, Y, idx, 0, data.N, checkInt("options.batchSize", bs ?? 256)).loss;
  }

  /** @internal Mean loss (and accuracy) over samples idx[from..to). */
  meanLoss(data: Inputs, lens: Int32Array | null, Y: Targets, idx: Int32Array, from: number, to: number, bs: number): { loss: number; accuracy: number } {
    let sum = 0, correct = 0, counted = 0;
    for (let b0 = from; b0 < to; b0 += bs) {
      const B = Math.min(bs, to - b0);
      const r = this.batch(data, lens, Y, idx, b0, B, false);
      sum += r.loss * B;
      correct += r.correct;
      counted += r.counted;
    }
    return { loss: sum / (to - from), accuracy: counted ? correct / counted : NaN };
  }

  /** @internal 'mse' or 'crossEntropy', refused when the last layer cannot give logits. */
  lossName(v: unknown): LossName {
    const loss = v ?? "mse";
    if (loss !== "mse" && loss !== "crossEntropy") throw new LSTMError("options.loss", "'mse' or 'crossEntropy'", describe(loss));
    const last = this.layers[this.layers.length - 1];
    if (loss === "crossEntropy" && !(last instanceof Linear && (last.config.activation === null || last.config.activation === "softmax"))) {
      throw new LSTMError("options.loss", "'mse' for this model: 'crossEntropy' needs a last Linear giving logits (no activation) or softmax", "'crossEntropy'");
    }
    return loss;
  }

  /**
   * @internal One batch through every layer (and back, when training), over samples
   * idx[b0..b0+B). Returns the loss (NaN without targets), the output rows' pointer (time-major
   * for sequence outputs) and, for cross-entropy, the correctly classified rows.
   */
  batch(data: Inputs, lens: Int32Array | null, Y: Targets | null, idx: Int32Array, b0: number, B: number, train: boolean): BatchResult {
    const { T } = data, { ids, width: I, maskZero } = this.input;
    const O = this.output.width, R = this.output.seq ? T * B : B, ce = Y?.kind === "ce";
    const ctx = this.ctx;
    ctx.T = T; ctx.B = B; ctx.train = train;
    ctx.logits = ce && (this.layers[this.layers.length - 1] as Linear).config.activation === "softmax";
    const sizes = {
      x: T * B * I, lens: lens ? B : 0, mask: maskZero ? T * B : 0, dpred: Y ? R * O : 0,
      tgt: Y ? R * (ce ? 1 : O) : 0, lmask: Y && !ce && this.output.seq && (lens || maskZero) ? R : 0,
    };
    // Every buffer of the call, in closed form, before any is allocated: a refusal grows nothing.
    let need = Workspace.bytes(sizes);
    this.layers.forEach((l, i) => { const p = this.ports[i]; need += asModelLayer(l).needBytes(ctx, { ptr: 0, width: p.width, seq: p.seq }); });
    if (need > MAX_BYTES) {
      throw new LSTMError("model buffers", `a batch whose buffers fit in wasm32's ${MAX_BYTES} bytes`, `${B} sequences of ${T} steps, needing ${need} bytes${train ? " to train" : ""}`);
    }
    const s = this.ws.plan(sizes);
    const heap = this.be.f32, i32 = this.be.i32, K = this.be.k;
    // Time-major rows of the batch's samples; the mask from the ids (Keras's mask_zero).
    for (let b = 0; b < B; b++) {
      const n = idx[b0 + b];
      if (ids) {
        for (let t = 0; t < T; t++) {
          const id = data.ids![n * T + t];
          i32[(s.x >>> 2) + t * B + b] = id;
          if (maskZero) i32[(s.mask >>> 2) + t * B + b] = id === 0 ? 0 : 1;
        }
      } else {
        const x = data.x!;
        for (let t = 0; t < T; t++) { // element by element: a subarray per row would allocate B·T views a batch
          const from = (n * T + t) * I, to = (s.x >>> 2) + (t * B + b) * I;
          for (let k = 0; k < I; k++) heap[to + k] = x[from + k];
        }
      }
      if (lens) i32[(s.lens >>> 2) + b] = lens[n];
    }
    // Padded steps' inputs are zeroed (see Engine.zeroPadding).
    if (lens && !ids) for (let b = 0; b < B; b++) for (let t = lens[idx[b0 + b]]; t < T; t++) heap.fill(0, (s.x >>> 2) + (t * B + b) * I, (s.x >>> 2) + (t * B + b + 1) * I);
    ctx.lens = lens ? s.lens : 0;
    ctx.mask = maskZero ? s.mask : 0;
    let flow: Flow = { ptr: s.x, width: I, seq: true };
    const L = this.layers.length;
    for (let i = 0; i < L; i++) flow = asModelLayer(this.layers[i]).forwardFlow(ctx, flow, i === L - 1);
    const pred = flow.ptr;
    if (!Y) return { loss: NaN, pred, R, correct: 0, counted: 0 };
    this.fillTargets(Y, s.tgt, s.lmask, idx, b0, B, T, O, lens, s.mask);
    const loss = Y.kind === "mse" ? K.mse(s.dpred, pred, s.tgt, s.lmask, R, O, 1) : K.softmax_xent(s.dpred, pred, s.tgt, R, O, 1);
    let correct = 0, counted = 0;
    if (ce) {
      const h = this.be.f32, t32 = this.be.i32, at = pred >>> 2;
      for (let r = 0; r < R; r++) {
        const cls = t32[(s.tgt >>> 2) + r];
        if (cls < 0) continue;
        let best = 0;
        for (let j = 1; j < O; j++) if (h[at + r * O + j] > h[at + r * O + best]) best = j;
        counted++;
        if (best === cls) correct++;
      }
    }
    if (train) {
      let d = s.dpred;
      for (let i = L - 1; i >= 0; i--) d = asModelLayer(this.layers[i]).backwardFlow(ctx, d, i > 0);
    }
    return { loss, pred, R, correct, counted };
  }

  private fillTargets(Y: Targets, tgt: number, lmask: number, idx: Int32Array, b0: number, B: number, T: number, O: number,
                      lens: Int32Array | null, mask: number): void {
    const heap = this.be.f32, i32 = this.be.i32, rs = this.output.seq;
    for (let b = 0; b < B; b++) {
      const n = idx[b0 + b];
      if (!rs) {
        if (Y.kind === "mse") heap.set(Y.data.subarray(n * O, (n + 1) * O), (tgt >>> 2) + b * O);
        else i32[(tgt >>> 2) + b] = Y.data[n];
        continue;
      }
      for (let t = 0; t < T; t++) {
        // Padded (lengths) and masked (mask_zero) steps are left out of the loss.
        const row = t * B + b, valid = (!lens || t < lens[n]) && (!mask || i32[(mask >>> 2) + row] !== 0);
        if (Y.kind === "mse") {
          heap.set(Y.data.subarray((n * T + t) * O, (n * T + t + 1) * O), (tgt >>> 2) + row * O);
          if (lmask) i32[(lmask >>> 2) + row] = valid ? 1 : 0;
        } else i32[(tgt >>> 2) + row] = valid ? Y.data[n * T + t] : -1;
      }
    }
  }

  /** @internal The model's input as owned copies: later changes to the caller's arrays cannot reach a running fit. */
  inputs(x: unknown): Inputs {
    if (this.input.ids) {
      const t: Ids = toIds("x", x, [null, null], this.input.vocab);
      const [N, T] = t.shape;
      if (N < 1 || T < 1) throw new LSTMError("x", "at least one sample and one time step", `shape [${t.shape}]`);
      return { ids: t.data, x: null, N, T };
    }
    const xt = toTensor("x", x, [null, null, this.input.width]);
    const [N, T] = xt.shape;
    if (N < 1 || T < 1) throw new LSTMError("x", "at least one sample and one time step", `shape [${xt.shape.join(",")}]`);
    const X = new Float32Array(xt.data); // not slice(): its species lookup runs caller code
    if (this.checkFinite) finite("x", X);
    return { ids: null, x: X, N, T };
  }

  /** @internal lengths for PyTorch-packed sequences; not with mask_zero, which marks padding itself. */
  lengths(v: unknown, data: Inputs): Int32Array | null {
    if (v === undefined) return null;
    if (this.input.maskZero) throw new LSTMError("options.lengths", "no lengths: the Embedding's maskZero already marks the padding", describe(v));
    return checkLengths("options.lengths", v, data.N, data.T);
  }

  /** @internal Owned targets: [N,O] or [N,T,O] floats for MSE; classes [N] or [N,T] for cross-entropy. */
  targets(y: unknown, loss: LossName, N: number, T: number): Targets {
    const O = this.output.width, rs = this.output.seq;
    if (loss === "mse") {
      const data = new Float32Array(toTensor("y", y, rs ? [N, T, O] : [N, O]).data);
      if (this.checkFinite) finite("y", data);
      return { kind: "mse", data };
    }
    return { kind: "ce", data: toIds("y", y, rs ? [N, T] : [N], O).data };
  }

  private get checkFinite(): boolean {
    return this.layers.some((l) => l instanceof LSTM && l.checkFinite);
  }

  // ---------------------------------------------------------------- parameters

  /** Every parameter, its key prefixed with its layer's name (`lstm.weight_ih_l0`, `fc.bias`), as a PyTorch module's state_dict. */
  stateDict(): Record<string, Tensor> {
    Sequential.live(this);
    return this.prefixed((l) => l.stateDict());
  }

  /** The accumulated gradients, keyed as stateDict(). */
  grads(): Record<string, Tensor> {
    Sequential.live(this);
    return this.prefixed((l) => l.grads());
  }

  private prefixed(read: (l: ModelLayer) => Record<string, Tensor>): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.layers.forEach((l, i) => { for (const [k, v] of Object.entries(read(asModelLayer(l)))) out[`${this.names[i]}.${k}`] = v; });
    return out;
  }

  /**
   * Replace every parameter, keys as stateDict() gives them. Strict: every key, no others; all
   * validated before anything is written, so a refused dict changes nothing.
   * @throws LSTMError naming the key.
   */
  loadStateDict(dict: Record<string, TensorLike>, what = "stateDict"): void {
    Sequential.live(this);
    if (dict === null || typeof dict !== "object" || Array.isArray(dict)) throw new LSTMError(what, "an object of named tensors", describe(dict));
    const parts: Record<string, unknown>[] = this.layers.map(() => Object.create(null));
    for (const key of Object.keys(dict)) {
      const dot = key.indexOf("."), i = dot < 0 ? -1 : this.names.indexOf(key.slice(0, dot));
      if (i < 0) throw new LSTMError(`${what}["${key}"]`, `a key prefixed with a layer's name (${this.names.map((n) => `${n}.`).join(", ")})`, "an unknown key");
      Object.defineProperty(parts[i], key.slice(dot + 1), { get: () => (dict as Record<string, unknown>)[key], enumerable: true });
    }
    const loads: PreparedLoad[] = this.layers.map((l, i) => asModelLayer(l).prepareLoad(parts[i], what, `${this.names[i]}.`));
    for (const p of loads) p.check();
    for (const p of loads) p.write();
  }

  /** Set every gradient to 0. */
  zeroGrad(): void {
    Sequential.live(this);
    this.be.f32.fill(0, this.gradPtr >>> 2, (this.gradPtr >>> 2) + this.total);
  }

  /** @internal The gradient block, for fit. */
  gradBlock(): { ptr: number; n: number } { return { ptr: this.gradPtr, n: this.total }; }
  /** @internal A copy of the parameters (early stopping's best weights), and its restore. */
  snapshot(): Float32Array { return this.be.f32.slice(this.paramPtr >>> 2, (this.paramPtr >>> 2) + this.total); }
  /** @internal */
  restore(p: Float32Array): void { this.be.f32.set(p, this.paramPtr >>> 2); }

  // ---------------------------------------------------------------- streaming

  /** A zero state for {@link step}: each LSTM's h [L,B,Hout] and c [L,B,H]. */
  initialState(batch: number): ModelState {
    Sequential.live(this);
    const B = checkInt("batch", batch);
    const state: ModelState = { h: [], c: [] };
    for (const l of this.streamingLSTMs()) {
      const s = l.initialState(B);
      state.h.push(s.h);
      state.c.push(s.c);
    }
    return state;
  }

  private streamingLSTMs(): LSTM[] {
    const lstms = this.layers.filter((l): l is LSTM => l instanceof LSTM);
    lstms.forEach((l) => {
      if (l.config.bidirectional || l.config.reverse || l.config.goBackwards) {
        throw new LSTMError("step", "a model whose LSTMs all run forward (a step cannot see later inputs)", `layer "${this.names[this.layers.indexOf(l)]}" runs backward`);
      }
    });
    return lstms;
  }

  /**
   * One time step through every layer, for streaming and generation; equals predict() on the
   * sequence so far (the last step's output). `state` is updated in place.
   * @param xt [B] ids (Embedding-first models) or [B,I] features.
   * @param out optional [B,O] tensor to fill.
   * @returns [B,O].
   */
  step(xt: TensorLike | IdsLike, state: ModelState, out?: Tensor): Tensor {
    Sequential.live(this);
    const lstms = this.streamingLSTMs();
    if (state === null || typeof state !== "object") throw new LSTMError("state", "a ModelState { h, c } from initialState()", describe(state));
    const sh: unknown = state.h, sc: unknown = state.c;
    if (!Array.isArray(sh) || !Array.isArray(sc) || sh.length !== lstms.length || sc.length !== lstms.length) {
      throw new LSTMError("state", `a ModelState from initialState() (h and c: ${lstms.length} tensors each)`, describe(state));
    }
    const { ids, width: I, vocab } = this.input, O = this.output.width;
    const x = ids ? toIds("xt", xt, [null], vocab) : toTensor("xt", xt, [null, I]);
    const B = x.shape[0];
    if (B < 1) throw new LSTMError("xt", "at least one row", "none");
    const hs: Float32Array[] = [], cs: Float32Array[] = [];
    lstms.forEach((l, k) => {
      const { L, Hout, H } = l.engine.d;
      hs.push(toTensor(`state.h[${k}]`, sh[k], [L, B, Hout]).data);
      cs.push(toTensor(`state.c[${k}]`, sc[k], [L, B, H]).data);
    });
    const od = outData("out", out, B, O);
    if (!ids) intact("xt", x.data as Float32Array, B * I);
    lstms.forEach((l, k) => { const d = l.engine.d; intact(`state.h[${k}]`, hs[k], d.L * B * d.Hout); intact(`state.c[${k}]`, cs[k], d.L * B * d.H); });
    if (od) intact("out", od, B * O);
    const s = this.ws.plan({ xs: B * I, hs: hs.map((h) => h.length), cs: cs.map((c) => c.length) });
    const heap = this.be.f32;
    if (ids) this.be.i32.set(x.data, s.xs >>> 2); else heap.set(x.data, s.xs >>> 2);
    hs.forEach((h, k) => heap.set(h, s.hs[k] >>> 2));
    cs.forEach((c, k) => heap.set(c, s.cs[k] >>> 2));
    let ptr = s.xs, k = 0;
    for (const l of this.layers) {
      const isLSTM = l instanceof LSTM;
      ptr = asModelLayer(l).stepFlow(ptr, B, isLSTM ? s.hs[k] : 0, isLSTM ? s.cs[k] : 0);
      if (isLSTM) k++;
    }
    const h32 = this.be.f32;
    hs.forEach((h, j) => setInto(h, h32.subarray(s.hs[j] >>> 2, (s.hs[j] >>> 2) + h.length)));
    cs.forEach((c, j) => setInto(c, h32.subarray(s.cs[j] >>> 2, (s.cs[j] >>> 2) + c.length)));
    const y = h32.subarray(ptr >>> 2, (ptr >>> 2) + B * O);
    if (od && out) { setInto(od, y); return out; }
    return { data: y.slice(), shape: [B, O] };
  }

  /**
   * The model as safetensors bytes: every tensor under its layer's name (as stateDict()), the
   * layer list in `__metadata__` (format "lstm-wasm.sequential", formatVersion 2).
   */
  save(): Uint8Array {
    Sequential.live(this);
    return saveModel(this, this.layers.map((l) => asModelLayer(l).spec()));
  }

  /**
   * A model from save()'s bytes (format 2, or format 1 of earlier versions). Every configuration
   * field is checked against the file's own tensors before a layer is built, and a failure frees
   * whatever was built, so nothing is half-loaded and a refused file allocates no wasm memory.
   * @throws LSTMError naming the field (a bare torch.nn.LSTM file: use LSTM.fromStateDict(readSafetensors(bytes))).
   */
  static load(bytes: Uint8Array | ArrayBuffer): Sequential {
    return loadModel(bytes, (layers, names) => new Sequential(layers, { names }));
  }

  /**
   * A TensorFlow.js Layers model (TF.js's model.save(), or tensorflowjs_converter from Keras) as a
   * Sequential that predicts what TF.js predicts. Reads InputLayer, Embedding (mask_zero), LSTM,
   * Bidirectional(LSTM, concat), Dropout and Dense; anything else is refused. The file is untrusted:
   * everything is checked against the bytes before any wasm memory is allocated.
   * @param modelJson model.json, parsed or as text.
   * @param weightData the weights file's bytes, or its shards in manifest order.
   * @returns a new model; layer names are the Keras names (made safe), and `tfjsOrigin` keeps the
   *   training-only settings this library does not apply.
   * @throws LSTMError naming the setting, layer class or weight that cannot be read.
   * @example
   * const model = Sequential.fromTfjs(JSON.parse(fs.readFileSync("model.json", "utf8")), fs.readFileSync("group1-shard1of1.bin"));
   */
  static fromTfjs(modelJson: object | string, weightData: TfjsWeightData): Sequential {
    return fromTfjs(modelJson, weightData, (layers, names) => new Sequential(layers, { names }));
  }

  /**
   * The model as a TF.js Layers model: model.json (an object; JSON.stringify it) naming one weights
   * file, and that file's bytes. `tf.loadLayersModel` reads it and predicts the same.
   * @param opts.weightsPath the file name model.json gives the weights ("weights.bin"); opts.modelName the TF.js model's name.
   * @returns `{ modelJson, weightData }`; weightData is a Uint8Array over its own whole buffer (`.buffer` is the file).
   * @throws LSTMError for what TF.js's layers cannot compute (projSize, peepholes, reverse with every-step outputs).
   * @example
   * const { modelJson, weightData } = model.toTfjs();
   * fs.writeFileSync("model.json", JSON.stringify(modelJson)); fs.writeFileSync("weights.bin", weightData);
   */
  toTfjs(opts: ToTfjsOptions = {}): TfjsExport {
    Sequential.live(this);
    return toTfjs(this, opts);
  }

  /** What Sequential.fromTfjs kept of the file that this library does not run (training-only settings); null for other models. */
  get tfjsOrigin(): TfjsOrigin | null { return tfjsOriginOf(this); }

  /** Free the model's memory and its layers'. A second call is harmless. */
  dispose(): void {
    MODELS.check(this);
    if (this.disposed) return;
    this.disposed = true;
    this.ws.free();
    for (const l of this.layers) l.dispose();
    this.be.arena.release(this.paramPtr);
    this.be.arena.release(this.gradPtr);
    this.slot.disposed();
  }

  /** @internal */
  get isDisposed(): boolean { MODELS.check(this); return this.disposed; }

  /** @internal Static, so a method called on another object cannot pick up that object's own `live`. */
  static live(m: Sequential): void {
    MODELS.check(m);
    if (m.disposed) throw new LSTMError("model", "a model that has not been disposed", "a disposed model");
    if (m.layers.some((l) => l.isDisposed)) throw new LSTMError("model", "layers that have not been disposed", "a disposed layer");
  }
}

export type LossName = "mse" | "crossEntropy";

// Names: one per layer, unique, non-empty, without "." (the state-dict separator).
function checkNames(v: unknown, n: number): string[] {
  if (!Array.isArray(v) || v.length !== n) throw new LSTMError("options.names", `${n} names, one per layer`, describe(v));
  const names = Array.from(v as unknown[]);
  names.forEach((name, i) => {
    if (typeof name !== "string" || !LAYER_NAME.test(name)) throw new LSTMError(`options.names[${i}]`, "a name of letters, digits, _ or - (no \".\", at most 64)", describe(name));
    if (names.indexOf(name) !== i) throw new LSTMError(`options.names[${i}]`, "a name no other layer has", describe(name));
  });
  return names as string[];
}

// The model's input width: the first layer's that reads floats (Dropouts pass theirs on).
function inputWidth(list: Layer[]): number {
  for (const l of list) {
    if (l instanceof LSTM || l instanceof Linear) return l.config.inputSize;
  }
  throw new LSTMError("layers", "an LSTM or Linear to fix the input width", "only Dropout layers");
}
