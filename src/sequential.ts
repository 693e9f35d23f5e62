import { LSTMError, describe, checkInt, checkBool } from "./errors";
import { type Tensor, type TensorLike, toTensor } from "./tensor";
import { LSTM } from "./lstm";
import { Linear } from "./linear";
import type { Engine } from "./engine";
import { checkStateDict } from "./statedict";
import { Workspace } from "./wasm/workspace";
import type { Backend } from "./wasm/backend";
import { checkKeys, checkLengths, finite } from "./io";
import { SGD, Adam, type ParamTarget, cachedTarget } from "./optim";
import { seededRandom } from "./rng";
import { clipBlock } from "./clip";
import { writeSafetensors, readSafetensorsWithMetadata } from "./safetensors";
import { parseStrictJson } from "./json";

/** The file format's name and version in safetensors `__metadata__`; load() refuses others. */
export const MODEL_FORMAT = "lstm-wasm.sequential";
export const MODEL_FORMAT_VERSION = 1;
/** Prefix of the Linear head's torch.nn.Linear names in saved files: head.weight, head.bias. */
export const HEAD_PREFIX = "head.";

export interface SequentialOptions {
  /**
   * false (default): the head sees each sequence's final h — the forward direction's at its last valid
   * step and, if bidirectional, the reverse direction's at t = 0. true: every step's h.
   */
  returnSequences?: boolean;
}
export type LossName = "mse" | "crossEntropy";
export interface EpochLogs { loss: number; valLoss?: number }
export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  loss?: LossName;
  optimizer: SGD | Adam;
  /** Clip the global gradient norm to this before each update. */
  clipNorm?: number;
  shuffle?: boolean;
  /** The last fraction of the samples (before shuffling) held out for a validation loss. */
  validationSplit?: number;
  seed?: number;
  /** Valid steps per sample, [N]. */
  lengths?: ArrayLike<number>;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: { epoch: number; loss: number }) => void | Promise<void>;
}
export interface History { loss: number[]; valLoss: number[] }

// Targets as the kernels take them: floats [N,(T,)O] for MSE, classes [N,(T)] for cross-entropy.
type Targets = { kind: "mse"; data: Float32Array } | { kind: "ce"; data: Int32Array };

const FIT_KEYS = ["epochs", "batchSize", "loss", "optimizer", "clipNorm", "shuffle", "validationSplit", "seed", "lengths", "onEpochEnd", "onBatchEnd"];

/** Hand control back to the event loop (a page repaints, a worker gets its messages). */
const yieldNow = (): Promise<void> => new Promise((r) => (typeof setImmediate === "function" ? setImmediate(r) : setTimeout(r, 0)));

/**
 * An LSTM with a Linear head, trained end to end in wasm: one parameter block for both layers, so
 * clipping and each optimizer update are one kernel call.
 * @example
 * const model = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 32 }), new Linear({ inputSize: 32, outputSize: 1 })]);
 * const history = await model.fit(x, y, { epochs: 20, batchSize: 16, loss: 'mse', optimizer: new Adam({ lr: 1e-2 }) });
 * const yhat = model.predict(x);
 */
export class Sequential {
  readonly lstm: LSTM;
  readonly head: Linear;
  readonly returnSequences: boolean;
  private readonly be: Backend;
  private readonly params: number;
  private readonly grads: number;
  private readonly total: number;
  private readonly ws: Workspace;
  private fitting = false;
  private disposed = false;

  /**
   * @param layers exactly [LSTM, Linear], the Linear's inputSize equal to the LSTM's output width.
   * @throws LSTMError on another arrangement, disposed or already-used layers, or mismatched sizes.
   */
  constructor(layers: [LSTM, Linear], opts: SequentialOptions = {}) {
    if (!Array.isArray(layers) || layers.length !== 2 || !(layers[0] instanceof LSTM) || !(layers[1] instanceof Linear)) {
      throw new LSTMError("layers", "[LSTM, Linear]", describe(layers));
    }
    checkKeys("options", opts, ["returnSequences"]);
    const [lstm, head] = layers;
    if (lstm.isDisposed || head.isDisposed) throw new LSTMError("layers", "layers that have not been disposed", "a disposed layer");
    if (!lstm.engine.blk.ownsMemory || !head.blk.ownsMemory) throw new LSTMError("layers", "layers not already part of a Sequential", "a layer another Sequential holds");
    const e = lstm.engine;
    const F = e.d.D * e.d.Hout;
    if (head.config.inputSize !== F) throw new LSTMError("layers[1].inputSize", `the LSTM's output width ${F}`, describe(head.config.inputSize));
    if (head.blk.be !== e.be) throw new LSTMError("layers", "layers created on the same backend", `${e.be.name} and ${head.blk.be.name}`);
    this.returnSequences = checkBool("options.returnSequences", opts.returnSequences ?? false);
    this.lstm = lstm;
    this.head = head;
    this.be = e.be;
    const a = e.blk.total, b = head.blk.total;
    this.total = a + b;
    this.params = this.be.arena.alloc(this.total * 4, "model parameters");
    try {
      this.grads = this.be.arena.alloc(this.total * 4, "model gradients");
    } catch (err) {
      this.be.arena.release(this.params);
      throw err;
    }
    e.moveTo(this.params, this.grads);
    head.blk.moveTo(this.params + 4 * a, this.grads + 4 * a);
    this.ws = new Workspace(this.be, "model buffers");
  }

  /** @internal The block optimizers update. */
  get target(): ParamTarget {
    this.live();
    return (this.tgt = cachedTarget(this.tgt, this.be, this.params, this.grads, this.total, this.onDispose));
  }
  private tgt: ParamTarget | null = null;
  private readonly onDispose = (cb: () => void): void => { this.disposeHooks.push(cb); };
  private disposeHooks: (() => void)[] = [];

  /**
   * Outputs of the head: [N,O] (or [N,T,O] with returnSequences); logits for cross-entropy.
   * @param x [N,T,I] batch-first. @param opts.lengths valid steps per sample.
   */
  predict(x: TensorLike, opts: { lengths?: ArrayLike<number>; batchSize?: number } = {}): Tensor {
    this.live();
    checkKeys("options", opts, ["lengths", "batchSize"]);
    const { X, N, T } = this.inputs(x);
    const lens = opts.lengths === undefined ? null : checkLengths("options.lengths", opts.lengths, N, T);
    const chunk = checkInt("options.batchSize", opts.batchSize ?? 256);
    const O = this.head.config.outputSize, rs = this.returnSequences;
    const out = new Float32Array(N * (rs ? T : 1) * O);
    const idx = Int32Array.from({ length: N }, (_, i) => i);
    for (let b0 = 0; b0 < N; b0 += chunk) {
      const B = Math.min(chunk, N - b0);
      const pred = this.batch(X, T, lens, null, idx, b0, B, false).pred;
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
   * Train with mini-batches. Yields to the event loop between batches. Deterministic for a seed.
   * @param x [N,T,I] batch-first.
   * @param y MSE: [N,O] (or [N,T,O] with returnSequences). Cross-entropy: classes [N] (or [N,T]).
   * @returns the mean training loss of each epoch, and the validation loss when validationSplit > 0.
   * @throws LSTMError on bad arguments, or when a loss or gradient turns non-finite: the weights
   *   from before that batch are kept.
   */
  async fit(x: TensorLike, y: unknown, opts: FitOptions): Promise<History> {
    this.live();
    checkKeys("options", opts, FIT_KEYS);
    if (this.fitting) throw new LSTMError("fit", "one fit at a time per model", "a call while another fit is running");
    const { X, N, T } = this.inputs(x);
    const loss = opts.loss ?? "mse";
    if (loss !== "mse" && loss !== "crossEntropy") throw new LSTMError("options.loss", "'mse' or 'crossEntropy'", describe(loss));
    const Y = this.targets(y, loss, N, T);
    if (this.lstm.checkFinite) finite("y", Y.data);
    const lens = opts.lengths === undefined ? null : checkLengths("options.lengths", opts.lengths, N, T);
    const epochs = checkInt("options.epochs", opts.epochs ?? 1);
    const batchSize = checkInt("options.batchSize", opts.batchSize ?? 32);
    const opt = opts.optimizer;
    if (!(opt instanceof SGD) && !(opt instanceof Adam)) throw new LSTMError("options.optimizer", "an SGD, Adam or AdamW", describe(opt));
    const clip = opts.clipNorm;
    if (clip !== undefined && !(typeof clip === "number" && clip > 0)) throw new LSTMError("options.clipNorm", "a number > 0", describe(clip));
    const shuffle = checkBool("options.shuffle", opts.shuffle ?? true);
    const split = opts.validationSplit ?? 0;
    if (typeof split !== "number" || !(split >= 0 && split < 1)) throw new LSTMError("options.validationSplit", "a number in [0, 1)", describe(split));
    const nVal = Math.floor(N * split), nTrain = N - nVal;
    if (nTrain < 1) throw new LSTMError("options.validationSplit", `a split that leaves training samples out of ${N}`, describe(split));
    const rand = seededRandom(opts.seed === undefined ? 0 : checkInt("options.seed", opts.seed, 0, 2 ** 32 - 1));
    for (const k of ["onEpochEnd", "onBatchEnd"] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== "function") throw new LSTMError(`options.${k}`, "a function", describe(opts[k]));
    }

    const idx = Int32Array.from({ length: N }, (_, i) => i);
    const history: History = { loss: [], valLoss: [] };
    this.fitting = true;
    try {
      let lastYield = performance.now();
      for (let epoch = 0; epoch < epochs; epoch++) {
        let batchNo = 0; // within the epoch, as Keras counts
        if (shuffle) for (let i = nTrain - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); const s = idx[i]; idx[i] = idx[j]; idx[j] = s; }
        let sum = 0, weight = 0;
        for (let b0 = 0; b0 < nTrain; b0 += batchSize) {
          this.live();
          const B = Math.min(batchSize, nTrain - b0);
          const l = this.trainBatch(X, T, lens, Y, idx, b0, B, opt, clip, epoch);
          sum += l * B;
          weight += B;
          if (opts.onBatchEnd) await opts.onBatchEnd(batchNo++, { epoch, loss: l });
          if (performance.now() - lastYield > 8) { await yieldNow(); lastYield = performance.now(); }
        }
        const logs: EpochLogs = { loss: sum / weight };
        history.loss.push(logs.loss);
        if (nVal > 0) {
          logs.valLoss = this.meanLoss(X, T, lens, Y, idx, nTrain, N, batchSize);
          history.valLoss.push(logs.valLoss);
        }
        if (opts.onEpochEnd) await opts.onEpochEnd(epoch, logs);
        await yieldNow();
        lastYield = performance.now();
      }
    } finally {
      this.fitting = false;
    }
    return history;
  }

  /**
   * The mean loss over a data set, without training.
   * @param y as for fit. @returns the mean loss per sample.
   */
  evaluate(x: TensorLike, y: unknown, opts: { loss?: LossName; lengths?: ArrayLike<number>; batchSize?: number } = {}): number {
    this.live();
    checkKeys("options", opts, ["loss", "lengths", "batchSize"]);
    const { X, N, T } = this.inputs(x);
    const loss = opts.loss ?? "mse";
    if (loss !== "mse" && loss !== "crossEntropy") throw new LSTMError("options.loss", "'mse' or 'crossEntropy'", describe(loss));
    const Y = this.targets(y, loss, N, T);
    const lens = opts.lengths === undefined ? null : checkLengths("options.lengths", opts.lengths, N, T);
    const idx = Int32Array.from({ length: N }, (_, i) => i);
    return this.meanLoss(X, T, lens, Y, idx, 0, N, checkInt("options.batchSize", opts.batchSize ?? 256));
  }

  private meanLoss(X: Float32Array, T: number, lens: Int32Array | null, Y: Targets, idx: Int32Array, from: number, to: number, bs: number): number {
    let sum = 0;
    for (let b0 = from; b0 < to; b0 += bs) {
      const B = Math.min(bs, to - b0);
      sum += this.batch(X, T, lens, Y, idx, b0, B, false).loss * B;
    }
    return sum / (to - from);
  }

  private trainBatch(X: Float32Array, T: number, lens: Int32Array | null, Y: Targets, idx: Int32Array,
                     b0: number, B: number, opt: SGD | Adam, clip: number | undefined, epoch: number): number {
    // Gradients start from zero every batch, so nothing added between batches (a stray
    // lstm.backward() from a callback, say) can leak into the update.
    this.be.f32.fill(0, this.grads >>> 2, (this.grads >>> 2) + this.total);
    const { loss } = this.batch(X, T, lens, Y, idx, b0, B, true);
    // The model's own clipping rule; a non-finite norm is never scaled, so it is seen below.
    const norm = clipBlock(this.be, this.grads, this.total, clip ?? Infinity);
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      this.be.f32.fill(0, this.grads >>> 2, (this.grads >>> 2) + this.total);
      throw new LSTMError("fit", "a finite loss and gradient (the weights from before this batch are kept)",
        `loss ${loss}, gradient norm ${norm} at epoch ${epoch}, batch starting at sample ${b0}`);
    }
    opt.step(this);
    return loss;
  }

  // One batch through LSTM and head (and back, when training). Returns the loss (NaN without
  // targets) and the byte pointer of the head's output rows (time-major with returnSequences).
  private batch(X: Float32Array, T: number, lens: Int32Array | null, Y: Targets | null, idx: Int32Array,
                b0: number, B: number, train: boolean): { loss: number; pred: number } {
    const e: Engine = this.lstm.engine, lin = this.head;
    const { I, D, Hout } = e.d;
    const F = D * Hout, O = lin.config.outputSize, rs = this.returnSequences, R = rs ? T * B : B;
    const p = train ? e.planTrain(T, B, lens !== null) : e.planInfer(T, B, false, lens !== null);
    const q = train ? e.planBackward(T, B) : null;
    const s = this.ws.plan({
      hin: rs ? 0 : B * F, dhin: rs || !train ? 0 : B * F, pred: R * O, dpred: R * O,
      tgt: Y ? R * (Y.kind === "mse" ? O : 1) : 0, mask: rs && lens && Y?.kind === "mse" ? R : 0,
      pack: train ? this.be.k.gemm_scratch_size(R, O) : 0,
    });
    const heap = this.be.f32, i32 = this.be.i32, K = this.be.k; // after all planning
    const last = (n: number) => (lens ? lens[n] : T) - 1;
    for (let b = 0; b < B; b++) {
      const n = idx[b0 + b];
      for (let t = 0; t < T; t++) heap.set(X.subarray((n * T + t) * I, (n * T + t + 1) * I), (p.x >>> 2) + (t * B + b) * I);
      if (lens) i32[(p.lens >>> 2) + b] = lens[n];
    }
    if (lens) e.zeroPadding(p, T, B, i32.subarray(p.lens >>> 2, (p.lens >>> 2) + B));
    heap.fill(0, p.h >>> 2, (p.h >>> 2) + e.d.L * D * B * Hout);
    heap.fill(0, p.c >>> 2, (p.c >>> 2) + e.d.L * D * B * e.d.H);
    const top = e.run(p, T, B, train);
    if (train) e.keep(T, B, p);
    // Without returnSequences the head sees each direction's final h: the forward direction's at the
    // sequence's last valid step, a backward-running direction's at t = 0 (as Keras' Bidirectional).
    const finalRow = (n: number, d: number, b: number) => ((d === 1 || this.lstm.config.reverse ? 0 : last(n)) * B + b) * F + d * Hout;
    let hin = top;
    if (!rs) {
      hin = s.hin;
      for (let b = 0; b < B; b++) {
        for (let d = 0; d < D; d++) {
          const from = (top >>> 2) + finalRow(idx[b0 + b], d, b), to = (hin >>> 2) + b * F + d * Hout;
          heap.copyWithin(to, from, from + Hout);
        }
      }
    }
    lin.forwardPtr(s.pred, hin, F, R);
    if (!Y) return { loss: NaN, pred: s.pred };
    this.fillTargets(Y, s.tgt, s.mask, idx, b0, B, T, O, lens);
    const loss = Y.kind === "mse" ? K.mse(s.dpred, s.pred, s.tgt, s.mask, R, O, 1) : K.softmax_xent(s.dpred, s.pred, s.tgt, R, O, 1);
    if (!q) return { loss, pred: s.pred };
    lin.backwardPtr(rs ? q.dy : s.dhin, s.dpred, hin, F, R, s.pack);
    if (!rs) { // dL/dy is the head's gradient at each direction's final step, 0 elsewhere
      heap.fill(0, q.dy >>> 2, (q.dy >>> 2) + T * B * F);
      for (let b = 0; b < B; b++) {
        for (let d = 0; d < D; d++) {
          const from = (s.dhin >>> 2) + b * F + d * Hout;
          heap.copyWithin((q.dy >>> 2) + finalRow(idx[b0 + b], d, b), from, from + Hout);
        }
      }
    }
    heap.fill(0, q.dh >>> 2, (q.dh >>> 2) + e.d.L * D * B * Hout);
    heap.fill(0, q.dc >>> 2, (q.dc >>> 2) + e.d.L * D * B * e.d.H);
    e.backward(e.cache!, q);
    return { loss, pred: s.pred };
  }

  private fillTargets(Y: Targets, tgt: number, mask: number, idx: Int32Array, b0: number, B: number, T: number, O: number, lens: Int32Array | null): void {
    const heap = this.be.f32, i32 = this.be.i32, rs = this.returnSequences;
    for (let b = 0; b < B; b++) {
      const n = idx[b0 + b];
      if (!rs) {
        if (Y.kind === "mse") heap.set(Y.data.subarray(n * O, (n + 1) * O), (tgt >>> 2) + b * O);
        else i32[(tgt >>> 2) + b] = Y.data[n];
        continue;
      }
      for (let t = 0; t < T; t++) {
        const row = t * B + b, valid = !lens || t < lens[n];
        if (Y.kind === "mse") {
          heap.set(Y.data.subarray((n * T + t) * O, (n * T + t + 1) * O), (tgt >>> 2) + row * O);
          if (mask) i32[(mask >>> 2) + row] = valid ? 1 : 0;
        } else i32[(tgt >>> 2) + row] = valid ? Y.data[n * T + t] : -1;
      }
    }
  }

  private inputs(x: TensorLike): { X: Float32Array; N: number; T: number } {
    const xt = toTensor("x", x, [null, null, this.lstm.config.inputSize]);
    const [N, T] = xt.shape;
    if (N < 1 || T < 1) throw new LSTMError("x", "at least one sample and one time step", `shape [${xt.shape.join(",")}]`);
    if (this.lstm.checkFinite) finite("x", xt.data);
    return { X: xt.data, N, T };
  }

  private targets(y: unknown, loss: LossName, N: number, T: number): Targets {
    const O = this.head.config.outputSize, rs = this.returnSequences;
    if (loss === "mse") return { kind: "mse", data: toTensor("y", y as TensorLike, rs ? [N, T, O] : [N, O]).data };
    const flat = y instanceof Int32Array ? Float32Array.from(y) : toTensor("y", y as TensorLike, rs ? [N, T] : [N]).data;
    if (flat.length !== (rs ? N * T : N)) throw new LSTMError("y", `${rs ? N * T : N} class indices`, describe(y));
    const out = new Int32Array(flat.length);
    for (let i = 0; i < flat.length; i++) {
      const c = flat[i];
      if (!Number.isInteger(c) || c < 0 || c >= O) throw new LSTMError(`y[${i}]`, `a class index in [0, ${O - 1}]`, describe(c));
      out[i] = c;
    }
    return { kind: "ce", data: out };
  }

  /**
   * The model as safetensors bytes: the LSTM under torch.nn.LSTM's names (weight_ih_l0, …), the head
   * as torch.nn.Linear's under "head." (head.weight, head.bias), the configuration in `__metadata__`.
   */
  save(): Uint8Array {
    this.live();
    const tensors: Record<string, Tensor> = { ...this.lstm.stateDict() };
    for (const [k, v] of Object.entries(this.head.stateDict())) tensors[HEAD_PREFIX + k] = v;
    const { inputSize, hiddenSize, numLayers, bidirectional, reverse, projSize, peephole } = this.lstm.config;
    const config = { lstm: { inputSize, hiddenSize, numLayers, bidirectional, reverse, projSize, peephole }, head: { ...this.head.config }, returnSequences: this.returnSequences };
    return writeSafetensors(tensors, { format: MODEL_FORMAT, formatVersion: String(MODEL_FORMAT_VERSION), config: JSON.stringify(config) });
  }

  /**
   * A model from save()'s bytes. Everything is checked before a layer is built, and a failure
   * frees whatever was built, so nothing is half-loaded.
   * @throws LSTMError on a file that is not a valid lstm-wasm model (a bare torch.nn.LSTM file:
   *   use LSTM.fromStateDict(readSafetensors(bytes))).
   */
  static load(bytes: Uint8Array | ArrayBuffer): Sequential {
    const { tensors, metadata } = readSafetensorsWithMetadata(bytes);
    if (metadata.format !== MODEL_FORMAT) {
      throw new LSTMError("file", `an lstm-wasm model (metadata format "${MODEL_FORMAT}"); for a bare torch.nn.LSTM file use LSTM.fromStateDict(readSafetensors(bytes))`,
        metadata.format === undefined ? "a file without that metadata" : `format ${describe(metadata.format)}`);
    }
    const version = /^[1-9][0-9]{0,8}$/.test(metadata.formatVersion ?? "") ? Number(metadata.formatVersion) : NaN;
    if (!(version >= 1 && version <= MODEL_FORMAT_VERSION)) {
      throw new LSTMError("file", `formatVersion 1 to ${MODEL_FORMAT_VERSION}`, describe(metadata.formatVersion));
    }
    const cfg = parseStrictJson(metadata.config ?? "", "file metadata config", 4) as Record<string, any>;
    const lstmCfg = cfg?.lstm, headCfg = cfg?.head;
    if (!lstmCfg || typeof lstmCfg !== "object" || !headCfg || typeof headCfg !== "object") {
      throw new LSTMError("file metadata config", "{ lstm: {…}, head: {…}, returnSequences }", describe(metadata.config));
    }
    // Only the keys save() writes, with their types: anything else in a file is refused, not ignored.
    const only = (where: string, o: object, keys: string[]) => {
      if (Array.isArray(o)) throw new LSTMError(where, "an object", describe(o));
      const bad = Object.keys(o).find((k) => !keys.includes(k));
      if (bad !== undefined) throw new LSTMError(where, `only the keys ${keys.join(", ")}`, `a key ${JSON.stringify(bad)}`);
    };
    only("file metadata config", cfg, ["lstm", "head", "returnSequences"]);
    only("file metadata config.lstm", lstmCfg, ["inputSize", "hiddenSize", "numLayers", "bidirectional", "reverse", "projSize", "peephole"]);
    only("file metadata config.head", headCfg, ["inputSize", "outputSize"]);
    if (cfg.returnSequences !== undefined && typeof cfg.returnSequences !== "boolean") {
      throw new LSTMError("file metadata config.returnSequences", "a boolean", describe(cfg.returnSequences));
    }
    const lstmDict: Record<string, Tensor> = Object.create(null), headDict: Record<string, Tensor> = Object.create(null);
    for (const [k, v] of Object.entries(tensors)) {
      if (k.startsWith(HEAD_PREFIX)) headDict[k.slice(HEAD_PREFIX.length)] = v;
      else lstmDict[k] = v;
    }
    const inferred = checkStateDict(lstmDict, "file").config;
    for (const key of Object.keys(inferred) as (keyof typeof inferred)[]) {
      if (lstmCfg[key] !== inferred[key]) throw new LSTMError(`file metadata config.lstm.${key}`, `${inferred[key]}, as the tensors say`, describe(lstmCfg[key]));
    }
    const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
    let lstm: LSTM | null = null, head: Linear | null = null;
    try {
      lstm = new LSTM({ ...(pick(lstmCfg, ["inputSize", "hiddenSize", "numLayers", "bidirectional", "reverse", "projSize", "peephole"]) as any), seed: 0 });
      head = new Linear({ ...(pick(headCfg, ["inputSize", "outputSize"]) as any), seed: 0 });
      lstm.loadStateDict(lstmDict);
      head.loadStateDict(headDict);
      return new Sequential([lstm, head], { returnSequences: cfg.returnSequences ?? false });
    } catch (err) {
      lstm?.dispose();
      head?.dispose();
      throw err;
    }
  }

  /** Free the model's memory and its layers'. A second call is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ws.free();
    this.lstm.dispose();
    this.head.dispose();
    this.be.arena.release(this.params);
    this.be.arena.release(this.grads);
    for (const cb of this.disposeHooks.splice(0)) cb();
  }

  private live(): void {
    if (this.disposed) throw new LSTMError("model", "a model that has not been disposed", "a disposed model");
    if (this.lstm.isDisposed || this.head.isDisposed) throw new LSTMError("model", "layers that have not been disposed", "a disposed layer");
  }
}
