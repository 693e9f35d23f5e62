import { LSTMError, describe, checkInt, checkBool } from "./errors";
import { type Tensor, type TensorLike, toTensor, isF32, intact } from "./tensor";
import { lengthOf, setInto } from "./typed";
import { backend } from "./wasm/backend";
import { MAX_BYTES } from "./wasm/arena";
import { paramFloats } from "./layout";
import type { LSTMConfig } from "./layout";
import { Engine, type RunInput, type DropoutKeys, type TrainPlan } from "./engine";
import { clipBlock } from "./clip";
import { type ParamTarget, TargetSlot, registerTrainable } from "./optim";
import { Brand } from "./brand";
import type { ParamBlock, PreparedLoad } from "./params";
import { Workspace } from "./wasm/workspace";
import { type Ctx, type Flow, type Port, type LayerSpec, ownTrainingPass } from "./layers/layer";

/** @internal Every LSTM the constructor made. */
export const LSTMS = new Brand("lstm", "an LSTM made with new LSTM(…)");
import { seededRandom } from "./rng";
import { lstmInit, type InitScheme } from "./init";
import { checkStateDict } from "./statedict";
import { type LengthsLike, checkKeys, checkLengths, copyIn, copyOut, finite, dataOf, dataOrFlat, inputData, outData, refuse } from "./io";

/** Constructor options of {@link LSTM}; the names follow torch.nn.LSTM. */
export interface LSTMOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  /** One direction run from the last step to the first, outputs indexed by the real step (ONNX 'reverse'). */
  reverse?: boolean;
  /** PyTorch's proj_size: h_t = W_hr (o⊙tanh c_t), of size projSize < hiddenSize. 0 = none. */
  projSize?: number;
  /** Diagonal peepholes: p_i, p_f read c_{t-1}, p_o reads c_t. */
  peephole?: boolean;
  /** x and y as [B,T,…] instead of [T,B,…]. States stay [L*D,B,…], as in PyTorch. */
  batchFirst?: boolean;
  /** Seed of the initialisation; random when omitted. */
  seed?: number;
  /**
   * 'pytorch' (default): every tensor U(−1/√H, 1/√H). 'keras': Glorot-uniform input weights,
   * orthogonal recurrent weights, zero biases and the forget gate's bias 1.
   */
  init?: InitScheme;
  /** Forget-gate bias 1 in bias_ih (0 in bias_hh); default true with 'keras', false with 'pytorch'. */
  unitForgetBias?: boolean;
  /**
   * Refuse NaN and ±Infinity in inputs, states, upstream gradients and loaded weights with an
   * LSTMError naming the tensor. Off by default: non-finite values then propagate, as in PyTorch.
   */
  checkFinite?: boolean;
  /** torch's `bias`: false drops bias_ih and bias_hh (and their state-dict keys). Default true. */
  bias?: boolean;
  /**
   * The activation of the i, f and o gates: 'sigmoid' (default, PyTorch and Keras 2+) or
   * 'hardSigmoid', max(0, min(1, 0.2x + 0.5)) (TensorFlow.js's default for tf.layers.lstm).
   */
  recurrentActivation?: "sigmoid" | "hardSigmoid";
  /**
   * PyTorch's `dropout`: inverted dropout with this probability on the outputs of every layer but
   * the last, in training only (forward with train: true, fit). Default 0.
   */
  dropout?: number;
  /**
   * Inside a Sequential (Keras's return_sequences, default false): true hands the next layer every
   * step's output, false each sequence's last one — the forward direction's h after its last valid
   * step and, bidirectional, the reverse direction's h after step 0. The LSTM's own forward() always
   * returns every step.
   */
  returnSequences?: boolean;
  /**
   * Keras's go_backwards (one unidirectional layer): run from the last step to the first, and give
   * every step's output in processing order (y[0] is the output at the last step).
   */
  goBackwards?: boolean;
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
  lengths?: LengthsLike;
  /** Keep what backward() needs. */
  train?: boolean;
  /** Also return every gate's activations. */
  returnGates?: boolean;
  /**
   * Tensors to write the results into instead of allocating new ones (shapes must match). With all
   * three (and no returnGates) the call allocates nothing: it returns this `out` object itself.
   */
  out?: { y?: Tensor; hn?: Tensor; cn?: Tensor };
}

export type Gates = Record<string, Record<string, Tensor>>;
export interface ForwardResult { y: Tensor; hn: Tensor; cn: Tensor; gates?: Gates }
export interface BackwardOptions {
  dy?: TensorLike;
  dhn?: TensorLike;
  dcn?: TensorLike;
  /**
   * Tensors to write the results into instead of allocating new ones (shapes must match). With all
   * three the call allocates nothing: it returns this `out` object itself.
   */
  out?: { dx?: Tensor; dh0?: Tensor; dc0?: Tensor };
}
export interface BackwardResult { dx: Tensor; dh0: Tensor; dc0: Tensor }
/** A streaming state for {@link LSTM.step}: h [L,B,Hout], c [L,B,H]. Updated in place. */
export interface LSTMState { h: Tensor; c: Tensor }

const CONFIG_KEYS = ["inputSize", "hiddenSize", "numLayers", "bidirectional", "reverse", "projSize", "peephole", "batchFirst", "seed", "init",
  "unitForgetBias", "checkFinite", "bias", "recurrentActivation", "dropout", "returnSequences", "goBackwards"];
const FORWARD_KEYS = ["seqLen", "batch", "h0", "c0", "lengths", "train", "returnGates", "out"];
const BACKWARD_KEYS = ["dy", "dhn", "dcn", "out"];
const FORWARD_OUT_KEYS = ["y", "hn", "cn"];
const BACKWARD_OUT_KEYS = ["dx", "dh0", "dc0"];
// Defaults shared by every call (frozen: never written), so an omitted argument allocates nothing.
const NO_OPTIONS: ForwardOptions = Object.freeze({});
const NO_GRADS: BackwardOptions = Object.freeze({});
const NO_OUTPUTS: Record<string, Tensor | undefined> = Object.freeze({});

/**
 * @internal Every option checked and the configuration built, with nothing allocated: the
 * constructor's first step, and how a model file's configuration is checked before any layer is
 * built. `at` names the options in errors.
 */
export function checkLSTMOptions(opts: LSTMOptions, at = "options") {
  checkKeys(at, opts, CONFIG_KEYS);
  const o = opts as unknown as Record<string, unknown>;
  const cfg: LSTMConfig = {
    inputSize: checkInt(`${at}.inputSize`, o.inputSize),
    hiddenSize: checkInt(`${at}.hiddenSize`, o.hiddenSize),
    numLayers: checkInt(`${at}.numLayers`, o.numLayers ?? 1),
    bidirectional: checkBool(`${at}.bidirectional`, o.bidirectional ?? false),
    reverse: checkBool(`${at}.reverse`, o.reverse ?? false),
    projSize: checkInt(`${at}.projSize`, o.projSize ?? 0, 0),
    peephole: checkBool(`${at}.peephole`, o.peephole ?? false),
    batchFirst: checkBool(`${at}.batchFirst`, o.batchFirst ?? false),
    bias: checkBool(`${at}.bias`, o.bias ?? true),
    recurrentActivation: (o.recurrentActivation ?? "sigmoid") as LSTMConfig["recurrentActivation"],
    dropout: (o.dropout ?? 0) as number,
    returnSequences: checkBool(`${at}.returnSequences`, o.returnSequences ?? false),
    goBackwards: checkBool(`${at}.goBackwards`, o.goBackwards ?? false),
  };
  if (cfg.recurrentActivation !== "sigmoid" && cfg.recurrentActivation !== "hardSigmoid") {
    throw new LSTMError(`${at}.recurrentActivation`, "'sigmoid' or 'hardSigmoid'", describe(cfg.recurrentActivation));
  }
  if (typeof cfg.dropout !== "number" || !(cfg.dropout >= 0 && cfg.dropout < 1)) throw new LSTMError(`${at}.dropout`, "a number in [0, 1)", describe(cfg.dropout));
  if (cfg.reverse && cfg.bidirectional) throw new LSTMError(`${at}.reverse`, "false with bidirectional (which already runs both ways)", "true");
  if (cfg.goBackwards && (cfg.bidirectional || cfg.reverse || cfg.numLayers !== 1)) {
    throw new LSTMError(`${at}.goBackwards`, "one unidirectional layer (Keras's go_backwards), without reverse",
      `numLayers ${cfg.numLayers}${cfg.bidirectional ? ", bidirectional" : ""}${cfg.reverse ? ", reverse" : ""}`);
  }
  if (cfg.projSize >= cfg.hiddenSize) throw new LSTMError(`${at}.projSize`, `0 (none) or less than hiddenSize ${cfg.hiddenSize}`, describe(cfg.projSize));
  const seed = o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkInt(`${at}.seed`, o.seed, 0, 2 ** 32 - 1);
  const scheme = (o.init ?? "pytorch") as InitScheme;
  if (scheme !== "pytorch" && scheme !== "keras") throw new LSTMError(`${at}.init`, "'pytorch' or 'keras'", describe(scheme));
  const unitForgetBias = checkBool(`${at}.unitForgetBias`, o.unitForgetBias ?? scheme === "keras");
  const checkFinite = checkBool(`${at}.checkFinite`, o.checkFinite ?? false);
  // Refused before any layout or allocation: the parameters and their gradients must fit in wasm32.
  const need = 8 * paramFloats(cfg);
  if (need > MAX_BYTES) throw new LSTMError(at === "options" ? "parameters" : at, `sizes whose parameters fit in wasm32's ${MAX_BYTES} bytes`, `sizes needing ${need} bytes for parameters and gradients`);
  // The layout is built in JS, one group per layer and direction: keep that bounded too.
  if (cfg.numLayers > 1024) throw new LSTMError(`${at}.numLayers`, "at most 1024 layers", describe(cfg.numLayers));
  return { cfg, seed, scheme, unitForgetBias, checkFinite };
}

/** @internal How an LSTM with `cfg` chains after `input` (see layers/layer.ts); `at` names it in errors. */
export function chainLSTM(cfg: LSTMConfig, input: Port, at: string): Port {
  const D = cfg.bidirectional ? 2 : 1, Hout = cfg.projSize || cfg.hiddenSize;
  if (input.ids) throw new LSTMError(at, "float features (put an Embedding first to turn token ids into them)", "token ids");
  if (!input.seq) throw new LSTMError(at, "a sequence [T,B,…] (the LSTM before it has returnSequences: false, which gives one row per sample)", "one row per sample");
  if (input.width !== cfg.inputSize) throw new LSTMError(`${at}.inputSize`, `${input.width}, the output width of the layer before`, describe(cfg.inputSize));
  return { width: D * Hout, seq: cfg.returnSequences, ids: false };
}

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
  /** Whether non-finite inputs are refused (see LSTMOptions.checkFinite). */
  readonly checkFinite: boolean;
  private readonly e: Engine;
  private disposed = false;

  /**
   * @param opts sizes and options; see {@link LSTMOptions}.
   * @throws LSTMError on a bad option, or when the parameters cannot fit in wasm memory.
   */
  constructor(opts: LSTMOptions) {
    const { cfg, seed, scheme, unitForgetBias, checkFinite } = checkLSTMOptions(opts);
    this.checkFinite = checkFinite;
    this.config = Object.freeze(cfg);
    const be = backend();
    this.e = new Engine(be, cfg);
    this.keys.seed = seed;
    // Drawn tensor by tensor in PyTorch's order and layout, so a seed means the same weights on every build.
    try {
      this.e.blk.init(lstmInit(this.e.be, scheme, unitForgetBias, cfg.hiddenSize, seededRandom(seed)));
    } catch (err) {
      this.e.free();
      throw err;
    }
    LSTMS.add(this);
    registerTrainable(this, () => this.target);
  }

  /**
   * A model whose configuration is read off a torch.nn.LSTM-style state dict (layers, `_reverse`,
   * `weight_hr`, peephole keys), with those weights loaded — e.g. `LSTM.fromStateDict(readSafetensors(bytes))`
   * for a file PyTorch saved with `safetensors.torch.save_file(lstm.state_dict(), path)`.
   * @param opts what names cannot tell: batchFirst, reverse (for a unidirectional model).
   * @throws LSTMError on stray, missing or inconsistent keys; nothing is created then.
   */
  static fromStateDict(dict: Record<string, TensorLike>, opts: { batchFirst?: boolean; reverse?: boolean } = {}): LSTM {
    checkKeys("options", opts, ["batchFirst", "reverse"]);
    const { config, tensors } = checkStateDict(dict);
    const lstm = new LSTM({ ...config, ...opts, seed: 0 });
    try {
      lstm.loadStateDict(tensors);
    } catch (err) {
      lstm.dispose();
      throw err;
    }
    return lstm;
  }

  /** The backend (build) this model runs on. */
  get backend(): string {
    LSTMS.check(this);
    return this.e.be.name;
  }

  /** @internal The kernels' side of the model, for Sequential and the optimizers. */
  get engine(): Engine {
    LSTM.live(this);
    return this.e;
  }

  /** @internal The block an optimizer updates. */
  get target(): ParamTarget {
    const b = this.engine.blk;
    return this.slot.get(b.be, b.params, b.grads, b.total);
  }
  private readonly slot = new TargetSlot();

  /** @internal */
  get isDisposed(): boolean {
    LSTMS.check(this);
    return this.disposed;
  }

  /**
   * Run the whole sequence through every layer.
   * @param x [T,B,I] ([B,T,I] with batchFirst): a tensor, nested arrays, or flat data with seqLen and batch.
   * @returns y [T,B,D*Hout] (forward direction's columns first), hn [L*D,B,Hout], cn [L*D,B,H], and
   *   with returnGates, gates['l0' | 'l0_reverse' | …] = {i,f,g,o,c [T,B,H], h [T,B,Hout], m [T,B,H] if projSize}.
   * @throws LSTMError on bad shapes, lengths or options; the model stays usable.
   */
  forward(x: TensorLike, opts: ForwardOptions = NO_OPTIONS): ForwardResult {
    LSTM.live(this);
    checkKeys("options", opts, FORWARD_KEYS);
    const { H, D, Hout, L, I } = this.e.d;
    const bf = this.config.batchFirst, LD = L * D, W = D * Hout;
    // Each option is read once. The common forms (Float32Array or { data, shape } tensors, `out`
    // tensors) are checked without allocating; anything else goes through toTensor.
    const oSeq = opts.seqLen, oBatch = opts.batch, oH0 = opts.h0, oC0 = opts.c0, oLen = opts.lengths;
    const oTrain = opts.train, oGates = opts.returnGates, oOut = opts.out;
    const seqLen = oSeq === undefined ? null : checkInt("options.seqLen", oSeq);
    const batch = oBatch === undefined ? null : checkInt("options.batch", oBatch);
    const dims = this.dims;
    let xd = inputData(x, I, bf, seqLen, batch, dims);
    if (!xd) {
      const xt = toTensor("x", x, bf ? [batch, seqLen, I] : [seqLen, batch, I]);
      xd = xt.data; dims[0] = xt.shape[bf ? 1 : 0]; dims[1] = xt.shape[bf ? 0 : 1];
    }
    const T = dims[0], B = dims[1];
    if (T < 1 || B < 1) throw new LSTMError("x", "at least one time step and one batch element", `shape [${bf ? [B, T, I] : [T, B, I]}]`);
    const h0 = oH0 === undefined ? null : dataOrFlat(oH0, LD, B, Hout) ?? toTensor("options.h0", oH0, [LD, B, Hout]).data;
    const c0 = oC0 === undefined ? null : dataOrFlat(oC0, LD, B, H) ?? toTensor("options.c0", oC0, [LD, B, H]).data;
    const lengths = oLen === undefined ? null : (this.lens = checkLengths("options.lengths", oLen, B, T, this.lens));
    if (this.checkFinite) {
      finite("x", xd);
      if (h0) finite("options.h0", h0);
      if (c0) finite("options.c0", c0);
    }
    const train = checkBool("options.train", oTrain ?? false);
    const wantGates = checkBool("options.returnGates", oGates ?? false);
    const out = oOut === undefined ? NO_OUTPUTS : oOut;
    checkKeys("options.out", out, FORWARD_OUT_KEYS);
    const oy = out.y, ohn = out.hn, ocn = out.cn;
    const yd = outData("options.out.y", oy, bf ? B : T, bf ? T : B, W);
    const hnd = outData("options.out.hn", ohn, LD, B, Hout);
    const cnd = outData("options.out.cn", ocn, LD, B, H);
    // Every caller value has been read; a getter among them may have detached an array checked before it.
    intact("x", xd, T * B * I);
    if (h0) intact("options.h0", h0, LD * B * Hout);
    if (c0) intact("options.c0", c0, LD * B * H);
    if (yd) intact("options.out.y", yd, T * B * W);
    if (hnd) intact("options.out.hn", hnd, LD * B * Hout);
    if (cnd) intact("options.out.cn", cnd, LD * B * H);

    const e = this.e;
    const p = train ? e.planTrain(T, B, lengths !== null) : e.planInfer(T, B, wantGates, lengths !== null);
    const heap = e.be.f32; // after planning, which may grow memory
    copyIn(heap, p.x, xd, T, B, I, bf);
    if (lengths) {
      const i32 = e.be.i32, at = p.lens >>> 2;
      for (let b = 0; b < B; b++) i32[at + b] = lengths[b];
      e.zeroPadding(p.x, T, B, lengths);
    }
    if (h0) heap.set(h0, p.h >>> 2); else heap.fill(0, p.h >>> 2, (p.h >>> 2) + LD * B * Hout);
    if (c0) heap.set(c0, p.c >>> 2); else heap.fill(0, p.c >>> 2, (p.c >>> 2) + LD * B * H);

    const gates: Gates | undefined = wantGates ? {} : undefined;
    const input = this.input;
    input.x = p.x; input.lens = p.lens; input.mask = 0;
    const top = e.run(p, input, T, B, train, this.keys, gates);
    if (train) e.keep(T, B, p as TrainPlan, input, false);
    const y = yd ? (copyOut(heap, top, T, B, W, bf, yd, e.viewFn), oy as Tensor) : { data: copyOut(heap, top, T, B, W, bf), shape: bf ? [B, T, W] : [T, B, W] };
    const hn = hnd ? (setInto(hnd, e.view(p.h, LD * B * Hout)), ohn as Tensor) : { data: heap.slice(p.h >>> 2, (p.h >>> 2) + LD * B * Hout), shape: [LD, B, Hout] };
    const cn = cnd ? (setInto(cnd, e.view(p.c, LD * B * H)), ocn as Tensor) : { data: heap.slice(p.c >>> 2, (p.c >>> 2) + LD * B * H), shape: [LD, B, H] };
    if (gates) return { y, hn, cn, gates };
    if (yd && hnd && cnd) return out as ForwardResult; // { y, hn, cn }, all filled: nothing to allocate
    return { y, hn, cn };
  }
  // Scratch kept between calls so the hot paths allocate nothing: x's T and B, the lengths, the
  // kernels' input description, and the dropout keys (each training forward draws fresh masks).
  private readonly dims = [0, 0];
  private readonly input: RunInput = { x: 0, lens: 0, mask: 0 };
  private readonly keys: DropoutKeys = { seed: 0, stream: 0 };
  private lens: Int32Array | undefined;

  /**
   * Backpropagation through time for the last forward called with { train: true }.
   * Adds the parameter gradients into the model's gradient buffers (call zeroGrad() between steps).
   * @param grads dy [T,B,D*Hout] (as y), dhn [L*D,B,Hout], dcn [L*D,B,H]; each defaults to zeros.
   * @returns dx (shaped as x), dh0 [L*D,B,Hout], dc0 [L*D,B,H].
   * @throws LSTMError without a training forward, or on bad shapes.
   */
  backward(grads: BackwardOptions = NO_GRADS): BackwardResult {
    LSTM.live(this);
    checkKeys("gradients", grads, BACKWARD_KEYS);
    const e = this.e, c = ownTrainingPass(e.cache, "forward(x, { train: true })", "no training forward since the model was created or its weights were loaded");
    const { H, D, Hout, L, I } = e.d;
    const { T, B } = c, bf = this.config.batchFirst, TB = T * B, LD = L * D, W = D * Hout;
    const gdy = grads.dy, gdhn = grads.dhn, gdcn = grads.dcn, gout = grads.out;
    const dy = gdy === undefined ? null : dataOrFlat(gdy, bf ? B : T, bf ? T : B, W) ?? toTensor("gradients.dy", gdy, bf ? [B, T, W] : [T, B, W]).data;
    const dhn = gdhn === undefined ? null : dataOrFlat(gdhn, LD, B, Hout) ?? toTensor("gradients.dhn", gdhn, [LD, B, Hout]).data;
    const dcn = gdcn === undefined ? null : dataOrFlat(gdcn, LD, B, H) ?? toTensor("gradients.dcn", gdcn, [LD, B, H]).data;
    if (this.checkFinite) {
      if (dy) finite("gradients.dy", dy);
      if (dhn) finite("gradients.dhn", dhn);
      if (dcn) finite("gradients.dcn", dcn);
    }
    const out = gout === undefined ? NO_OUTPUTS : gout;
    checkKeys("gradients.out", out, BACKWARD_OUT_KEYS);
    const odx = out.dx, odh = out.dh0, odc = out.dc0;
    const dxd = outData("gradients.out.dx", odx, bf ? B : T, bf ? T : B, I);
    const dhd = outData("gradients.out.dh0", odh, LD, B, Hout);
    const dcd = outData("gradients.out.dc0", odc, LD, B, H);
    if (dy) intact("gradients.dy", dy, TB * W);
    if (dhn) intact("gradients.dhn", dhn, LD * B * Hout);
    if (dcn) intact("gradients.dcn", dcn, LD * B * H);
    if (dxd) intact("gradients.out.dx", dxd, TB * I);
    if (dhd) intact("gradients.out.dh0", dhd, LD * B * Hout);
    if (dcd) intact("gradients.out.dc0", dcd, LD * B * H);

    const q = e.planBackward(T, B);
    const heap = e.be.f32;
    if (dy) copyIn(heap, q.dy, dy, T, B, W, bf); else heap.fill(0, q.dy >>> 2, (q.dy >>> 2) + TB * W);
    if (dhn) heap.set(dhn, q.dh >>> 2); else heap.fill(0, q.dh >>> 2, (q.dh >>> 2) + LD * B * Hout);
    if (dcn) heap.set(dcn, q.dc >>> 2); else heap.fill(0, q.dc >>> 2, (q.dc >>> 2) + LD * B * H);
    e.backward(c, q);
    const dx = dxd ? (copyOut(heap, q.dx, T, B, I, bf, dxd, e.viewFn), odx as Tensor) : { data: copyOut(heap, q.dx, T, B, I, bf), shape: bf ? [B, T, I] : [T, B, I] };
    const dh0 = dhd ? (setInto(dhd, e.view(q.dh, LD * B * Hout)), odh as Tensor) : { data: heap.slice(q.dh >>> 2, (q.dh >>> 2) + LD * B * Hout), shape: [LD, B, Hout] };
    const dc0 = dcd ? (setInto(dcd, e.view(q.dc, LD * B * H)), odc as Tensor) : { data: heap.slice(q.dc >>> 2, (q.dc >>> 2) + LD * B * H), shape: [LD, B, H] };
    if (dxd && dhd && dcd) return out as BackwardResult; // { dx, dh0, dc0 }, all filled
    return { dx, dh0, dc0 };
  }

  /** A zero state for {@link step}: h [L,B,Hout], c [L,B,H]. */
  initialState(batch: number): LSTMState {
    LSTM.live(this);
    const { H, D, Hout, L } = this.e.d;
    const B = checkInt("batch", batch);
    const need = 4 * L * D * B * (H + Hout);
    if (need > MAX_BYTES) throw new LSTMError("batch", `a batch whose state fits in ${MAX_BYTES} bytes`, `batch ${B}, needing ${need} bytes`);
    return { h: { data: new Float32Array(L * D * B * Hout), shape: [L * D, B, Hout] }, c: { data: new Float32Array(L * D * B * H), shape: [L * D, B, H] } };
  }

  /**
   * One time step for streaming: feeds xt [B,I] through every layer, updates `state` in place.
   * Equals forward() on the sequence so far. With `out`, nothing is allocated.
   * @param out optional [B,Hout] tensor to write the result into.
   * @returns the top layer's h [B,Hout] (`out`, or a new tensor).
   * @throws LSTMError for a bidirectional model (a step cannot see the future) or bad shapes.
   */
  step(xt: TensorLike, state: LSTMState, out?: Tensor): Tensor {
    LSTM.live(this);
    if (this.config.bidirectional || this.config.reverse) {
      throw new LSTMError("step", "a forward-running model (a step cannot see later inputs)", this.config.reverse ? "a reverse model" : "a bidirectional model");
    }
    const { H, Hout, L, I } = this.e.d;
    if (state === null || typeof state !== "object") throw new LSTMError("state", "an LSTMState { h, c } from initialState()", describe(state));
    // The arrays used are the ones checked (a getter cannot swap them in between), and the checks
    // allocate nothing: this is the streaming hot path.
    const sh: unknown = state.h, sc: unknown = state.c;
    if (sh === undefined) throw new LSTMError("state.h", "a tensor (an LSTMState from initialState())", "undefined");
    if (sc === undefined) throw new LSTMError("state.c", "a tensor (an LSTMState from initialState())", "undefined");
    const shape: unknown = sh !== null && typeof sh === "object" ? (sh as { shape?: unknown }).shape : undefined;
    const B = Array.isArray(shape) ? shape[1] : NaN;
    if (!Number.isInteger(B) || B < 1) throw new LSTMError("state.h", `a { data: Float32Array, shape: [${L},B,${Hout}] } tensor (updated in place)`, describe(sh));
    const hd = dataOf(sh, L, B, Hout) ?? refuse("state.h", sh, [L, B, Hout]);
    const cd = dataOf(sc, L, B, H) ?? refuse("state.c", sc, [L, B, H]);
    const od = outData("out", out, B, Hout);
    const x = isF32(xt) && lengthOf(xt) === B * I ? xt : dataOf(xt, B, I) ?? toTensor("xt", xt, [B, I]).data;
    intact("state.h", hd, L * B * Hout);
    intact("state.c", cd, L * B * H);
    if (od) intact("out", od, B * Hout);
    if (this.checkFinite) { finite("xt", x); finite("state.h", hd); finite("state.c", cd); }
    const e = this.e, p = e.planInfer(1, B, false, false);
    const heap = e.be.f32;
    heap.set(x, p.x >>> 2);
    heap.set(hd, p.h >>> 2);
    heap.set(cd, p.c >>> 2);
    const input = this.input;
    input.x = p.x; input.lens = 0; input.mask = 0;
    const top = e.run(p, input, 1, B, false, null);
    setInto(hd, e.view(p.h, L * B * Hout));
    setInto(cd, e.view(p.c, L * B * H));
    const y = e.view(top, B * Hout);
    if (od) { setInto(od, y); return out as Tensor; }
    return { data: y.slice(), shape: [B, Hout] };
  }

  /** The parameters as fresh tensors, with torch.nn.LSTM's names and shapes. */
  stateDict(): Record<string, Tensor> {
    LSTM.live(this);
    return this.e.blk.read();
  }

  /** The accumulated gradients, with the names and shapes of stateDict(). */
  grads(): Record<string, Tensor> {
    LSTM.live(this);
    return this.e.blk.read(true);
  }

  /**
   * Replace every parameter. All keys of stateDict() are required and no others are allowed.
   * Everything is validated before anything is written, so a refused dict leaves the old weights.
   */
  loadStateDict(dict: Record<string, TensorLike>): void {
    LSTM.live(this);
    this.e.blk.load(dict, "stateDict", this.checkFinite);
    this.e.cache = null; // activations saved under the old weights must not meet the new ones in backward
  }

  /** Set every gradient to 0. */
  zeroGrad(): void {
    LSTM.live(this);
    this.e.blk.zeroGrad();
  }

  /**
   * Clip the model's gradients in place by their global L2 norm: if ‖g‖ > maxNorm, g ← g·maxNorm/‖g‖.
   * @returns the norm before clipping.
   */
  clipGradNorm(maxNorm: number): number {
    LSTM.live(this);
    if (typeof maxNorm !== "number" || !(maxNorm >= 0)) throw new LSTMError("maxNorm", "a number >= 0", describe(maxNorm));
    return clipBlock(this.e.be, this.e.blk.grads, this.e.blk.total, maxNorm);
  }

  // ---------------------------------------------------------------- the layer protocol (layers/layer.ts)

  /** @internal */
  paramBlock(): ParamBlock { return this.e.blk; }
  /** @internal */
  moveParams(params: number, grads: number): void { this.e.moveTo(params, grads); }

  /** @internal Validate a state dict now, write it later (see ParamBlock.prepare). */
  prepareLoad(dict: unknown, what: string, prefix = ""): PreparedLoad {
    const p = this.e.blk.prepare(dict, what, this.checkFinite, prefix);
    return { check: p.check, write: () => { p.write(); this.e.cache = null; } };
  }
  /** @internal The output port: D·Hout wide, every step or each sequence's last output. */
  chain(input: Port, at: string): Port { return chainLSTM(this.config, input, at); }

  /** @internal */
  needBytes(ctx: Ctx): number {
    const { D, Hout } = this.e.d;
    return this.e.bytesFor(ctx.T, ctx.B, ctx.train, false) + (this.config.returnSequences ? 0 : Workspace.bytes({ y: ctx.B * D * Hout }));
  }

  /** @internal Every layer over one call's rows; the lengths or mask come from ctx. */
  forwardFlow(ctx: Ctx, x: Flow): Flow {
    const e = this.e, { T, B, train } = ctx, { D, Hout, L, H } = e.d, W = D * Hout;
    const p = train ? e.planTrain(T, B, false, false) : e.planInfer(T, B, false, false, false);
    const last = this.config.returnSequences ? 0 : this.lastWs.plan({ y: B * W }).y;
    const heap = e.be.f32; // after all planning
    heap.fill(0, p.h >>> 2, (p.h >>> 2) + L * D * B * Hout);
    heap.fill(0, p.c >>> 2, (p.c >>> 2) + L * D * B * H);
    const input = this.input;
    input.x = x.ptr; input.lens = ctx.lens; input.mask = ctx.mask;
    const top = e.run(p, input, T, B, train, ctx.keys);
    // An inference pass drops the cache: its buffers (and the input rows) are not the training pass's.
    if (train) e.keep(T, B, p as TrainPlan, input, true);
    else e.cache = null;
    if (this.config.returnSequences) return { ptr: top, width: W, seq: true };
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) {
        const from = (top >>> 2) + this.finalRow(ctx, b, d) * W + d * Hout, to = (last >>> 2) + b * W + d * Hout;
        heap.copyWithin(to, from, from + Hout);
      }
    }
    return { ptr: last, width: W, seq: false };
  }
  private readonly lastWs = new Workspace(backend(), "LSTM last outputs");

  /**
   * The time row holding sequence b's last output for direction d, in the order of the top y: a
   * forward direction's last valid step (lengths), or T−1 (a Keras mask carries the last output
   * there); a backward-running one's step 0 — which goBackwards, in processing order, puts at T−1.
   */
  private finalRow(ctx: Ctx, b: number, d: number): number {
    const { T, B } = ctx;
    if (this.config.goBackwards) return (T - 1) * B + b;
    if (d === 1 || this.config.reverse) return b;
    const t = ctx.lens ? this.e.be.i32[(ctx.lens >>> 2) + b] - 1 : T - 1;
    return t * B + b;
  }

  /** @internal BPTT of the last training forwardFlow from dL/d(output rows); returns dL/dx [T,B,I]. */
  backwardFlow(ctx: Ctx, dy: number): number {
    const e = this.e, c = e.cache!, { T, B } = ctx, { D, Hout, L, H } = e.d, W = D * Hout;
    const q = e.planBackward(T, B);
    const heap = e.be.f32, at = q.dy >>> 2;
    if (this.config.returnSequences) heap.copyWithin(at, dy >>> 2, (dy >>> 2) + T * B * W);
    else {
      heap.fill(0, at, at + T * B * W); // dL/dy is the next layer's gradient at each direction's final step, 0 elsewhere
      for (let b = 0; b < B; b++) {
        for (let d = 0; d < D; d++) {
          const from = (dy >>> 2) + b * W + d * Hout;
          heap.copyWithin(at + this.finalRow(ctx, b, d) * W + d * Hout, from, from + Hout);
        }
      }
    }
    heap.fill(0, q.dh >>> 2, (q.dh >>> 2) + L * D * B * Hout);
    heap.fill(0, q.dc >>> 2, (q.dc >>> 2) + L * D * B * H);
    e.backward(c, q);
    return q.dx;
  }

  /**
   * @internal One streaming step of rows x [B,I] from the state at h [L,B,Hout], c [L,B,H] (wasm
   * pointers, updated in place); returns the top layer's h rows [B,Hout].
   */
  stepFlow(x: number, B: number, h: number, c: number): number {
    const e = this.e, { L, Hout, H } = e.d;
    const p = e.planInfer(1, B, false, false, false);
    const heap = e.be.f32;
    heap.copyWithin(p.h >>> 2, h >>> 2, (h >>> 2) + L * B * Hout);
    heap.copyWithin(p.c >>> 2, c >>> 2, (c >>> 2) + L * B * H);
    const input = this.input;
    input.x = x; input.lens = 0; input.mask = 0;
    const top = e.run(p, input, 1, B, false, null);
    heap.copyWithin(h >>> 2, p.h >>> 2, (p.h >>> 2) + L * B * Hout);
    heap.copyWithin(c >>> 2, p.c >>> 2, (p.c >>> 2) + L * B * H);
    return top;
  }

  /** @internal The configuration a model file stores (what the tensors cannot tell included). */
  spec(): LayerSpec {
    const { batchFirst: _, ...config } = this.config;
    return { type: "lstm", config };
  }

  /** Free the model's wasm memory. Any later call throws LSTMError; a second dispose() is harmless. */
  dispose(): void {
    LSTMS.check(this);
    if (this.disposed) return;
    this.disposed = true;
    this.e.free();
    this.lastWs.free();
    this.slot.disposed();
  }

  // Static, so a method called on another object cannot pick up that object's own `live`.
  private static live(m: LSTM): void {
    LSTMS.check(m);
    if (m.disposed) throw new LSTMError("lstm", "a model that has not been disposed", "a disposed model");
  }
}
