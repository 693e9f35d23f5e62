import { LSTMError, checkInt, checkBool, describe } from "./errors";
import { type Tensor, type TensorLike, toTensor, intact } from "./tensor";
import { backend, gemmScratch } from "./wasm/backend";
import { Workspace } from "./wasm/workspace";
import { LayoutBuilder, panelSize } from "./layout";
import { ParamBlock, type PreparedLoad } from "./params";
import { seededRandom } from "./rng";
import { checkKeys, outData, emit } from "./io";
import { type ParamTarget, TargetSlot, registerTrainable } from "./optim";
import { Brand } from "./brand";
import { type Ctx, type Flow, type Port, type LayerSpec, ownTrainingPass } from "./layers/layer";

/** @internal Every Linear the constructor made. */
export const LINEARS = new Brand("linear", "a Linear made with new Linear(…)");

/** The activations a Linear applies after x·Wᵀ + b (softmax over the last dimension). */
export type Activation = "relu" | "tanh" | "sigmoid" | "softmax";
// Their codes in the kernels (assembly/linear.ts); 0 is none (logits).
const ACT = { relu: 1, tanh: 2, sigmoid: 3, softmax: 4 } as const;

/** Options of {@link Linear}; names follow torch.nn.Linear. */
export interface LinearOptions {
  inputSize: number;
  outputSize: number;
  /** Applied after the affine map; none by default (a regression output, or logits). */
  activation?: Activation;
  /** torch's `bias`: false drops the bias (and its state-dict key). Default true. */
  bias?: boolean;
  /** Seed of PyTorch's default initialisation, U(−1/√inputSize, 1/√inputSize); random when omitted. */
  seed?: number;
}

/** A Linear's configuration. */
export interface LinearConfig { inputSize: number; outputSize: number; activation: Activation | null; bias: boolean }

/** @internal Every option checked, nothing allocated (see checkLSTMOptions). */
export function checkLinearOptions(opts: LinearOptions, at = "options"): { cfg: LinearConfig; seed: number } {
  checkKeys(at, opts, ["inputSize", "outputSize", "activation", "bias", "seed"]);
  const o = opts as unknown as Record<string, unknown>;
  const In = checkInt(`${at}.inputSize`, o.inputSize), O = checkInt(`${at}.outputSize`, o.outputSize);
  const activation = (o.activation ?? null) as Activation | null;
  if (activation !== null && !(typeof activation === "string" && Object.prototype.hasOwnProperty.call(ACT, activation))) {
    throw new LSTMError(`${at}.activation`, "'relu', 'tanh', 'sigmoid' or 'softmax' (or none)", describe(activation));
  }
  const bias = checkBool(`${at}.bias`, o.bias ?? true);
  const seed = o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkInt(`${at}.seed`, o.seed, 0, 2 ** 32 - 1);
  // The weight's panels and their gradients must fit in wasm32.
  const need = 8 * (panelSize(O, In) + O);
  if (need > 2 ** 32) throw new LSTMError(at === "options" ? "parameters" : at, "sizes whose parameters fit in wasm32's 4 GiB", `inputSize ${In} and outputSize ${O}, needing ${need} bytes`);
  return { cfg: { inputSize: In, outputSize: O, activation, bias }, seed };
}

/** @internal How a Linear chains after `input`: it applies to every row, so a sequence stays one. */
export function chainLinear(cfg: LinearConfig, input: Port, at: string): Port {
  if (input.ids) throw new LSTMError(at, "float features (put an Embedding first to turn token ids into them)", "token ids");
  if (input.width !== cfg.inputSize) throw new LSTMError(`${at}.inputSize`, `${input.width}, the output width of the layer before`, describe(cfg.inputSize));
  return { width: cfg.outputSize, seq: input.seq, ids: false };
}

/**
 * A dense layer y = act(x·Wᵀ + b) with torch.nn.Linear's names: weight [O,In], bias [O].
 * Inside a {@link Sequential} it applies to every step of a sequence; it is usable alone too.
 * @example
 * const head = new Linear({ inputSize: 64, outputSize: 10, activation: "softmax", seed: 1 });
 * const y = head.forward(h, { train: true });  // h [N,64] → y [N,10]
 * const dh = head.backward(dy);                 // adds into head.grads()
 */
export class Linear {
  readonly config: Readonly<LinearConfig>;
  private readonly blk: ParamBlock;
  private readonly ws: Workspace;
  private readonly act: number;
  // The last training forward's rows: R of them at x, outputs at y.
  private cached: { R: number; x: number; y: number; inModel: boolean } | null = null;
  private disposed = false;

  /**
   * @param opts sizes, activation, bias and seed.
   * @throws LSTMError on a bad option.
   */
  constructor(opts: LinearOptions) {
    const { cfg, seed } = checkLinearOptions(opts);
    const { inputSize: In, outputSize: O, activation, bias } = cfg;
    this.config = Object.freeze(cfg);
    this.act = activation === null ? 0 : ACT[activation];
    const layout = new LayoutBuilder();
    layout.add("weight", [O, In], true);
    if (bias) layout.add("bias", [O], false);
    const be = backend();
    this.blk = new ParamBlock(be, layout.entries, layout.total);
    const rand = seededRandom(seed), k = 1 / Math.sqrt(In);
    this.blk.init((e) => Float32Array.from({ length: e.size }, () => (2 * rand() - 1) * k));
    this.ws = new Workspace(be, "linear buffers");
    LINEARS.add(this);
    registerTrainable(this, () => this.target);
  }

  // Byte pointers of W (panels) and b (0: none) in the parameter block, or of their gradients.
  private w(grads = false): number { return grads ? this.blk.grads : this.blk.params; }
  private b(grads = false): number { return this.config.bias ? (grads ? this.blk.grads : this.blk.params) + 4 * this.blk.entries[1].offset : 0; }

  // The sizes of R rows' buffers: inputs (standalone calls copy theirs in; in a Sequential the previous
  // layer's rows are read where they are), outputs, dL/dz and dx, Wᵀ and dW's packing scratch
  // (gemm_scratch_size). One layout for every call, so backward finds what its forward left.
  private sizes(R: number) {
    const { inputSize: In, outputSize: O } = this.config;
    return { x: R * In, y: R * O, dz: R * O, dx: R * In, wt: panelSize(In, O), pack: gemmScratch(this.blk.be.k, R, O) };
  }
  private plan(R: number) { return this.ws.plan(this.sizes(R)); }

  /** @internal */
  needBytes(ctx: Ctx, x: Flow): number { return Workspace.bytes(this.sizes(x.seq ? ctx.T * ctx.B : ctx.B)); }

  // y [R,O] = act(x·Wᵀ + b); `act` 0 gives the logits.
  private run(y: number, x: number, R: number, act: number): void {
    const { inputSize: In, outputSize: O } = this.config;
    this.blk.be.k.linear_forward(y, x, In, this.w(), this.b(), R, In, O, act);
  }

  // Gradients += from dy [R,O]; dx [R,In] overwritten (0 to skip). `act` as the forward ran.
  private back(dx: number, dy: number, R: number, act: number): void {
    const { inputSize: In, outputSize: O } = this.config;
    const c = this.cached!, p = this.plan(R);
    const K = this.blk.be.k;
    K.transpose_packed(p.wt, this.w(), In, O);
    K.linear_backward(dx, this.w(true), this.b(true), p.dz, p.pack, dy, c.y, c.x, In, p.wt, R, In, O, act);
  }

  /**
   * @param x [N,In].
   * @param opts.train keep x for backward(); opts.out a [N,O] tensor to fill.
   * @returns y [N,O].
   * @throws LSTMError on a bad shape.
   */
  forward(x: TensorLike, opts: { train?: boolean; out?: Tensor } = {}): Tensor {
    Linear.live(this);
    checkKeys("options", opts, ["train", "out"]);
    const { inputSize: In, outputSize: O } = this.config;
    const xt = toTensor("x", x, [null, In]);
    const R = xt.shape[0];
    const out = opts.out, od = outData("options.out", out, R, O);
    const train = checkBool("options.train", opts.train ?? false);
    intact("x", xt.data, R * In); // every caller value is read: nothing can change them from here on
    if (od) intact("options.out", od, R * O);
    const p = this.plan(R);
    const heap = this.blk.be.f32;
    heap.set(xt.data, p.x >>> 2);
    this.run(p.y, p.x, R, this.act);
    this.cached = train ? { R, x: p.x, y: p.y, inModel: false } : null;
    return emit(heap, p.y, [R, O], out, od);
  }

  /**
   * Backward of the last forward with { train: true }: adds into the gradients.
   * @param dy [N,O] (gradients of the activated outputs). @returns dx [N,In].
   * @throws LSTMError without a training forward or on a bad shape.
   */
  backward(dy: TensorLike): Tensor {
    Linear.live(this);
    const c = ownTrainingPass(this.cached, "forward(x, { train: true })");
    const { inputSize: In, outputSize: O } = this.config;
    const d = toTensor("dy", dy, [c.R, O]);
    const p = this.plan(c.R);
    const heap = this.blk.be.f32;
    heap.set(d.data, p.dz >>> 2); // dL/dz's scratch takes dy: the kernel may overwrite it in place
    this.back(p.dx, p.dz, c.R, this.act);
    return emit(heap, p.dx, [c.R, In]);
  }

  /** { weight [O,In], bias [O] }, fresh copies. */
  stateDict(): Record<string, Tensor> { Linear.live(this); return this.blk.read(); }
  /** The accumulated gradients, named as stateDict(). */
  grads(): Record<string, Tensor> { Linear.live(this); return this.blk.read(true); }
  /** Replace weight and bias; validated before anything is written. */
  loadStateDict(dict: Record<string, TensorLike>): void { Linear.live(this); this.blk.load(dict); this.cached = null; }
  zeroGrad(): void { Linear.live(this); this.blk.zeroGrad(); }

  // ---------------------------------------------------------------- the layer protocol (layers/layer.ts)

  /** @internal */
  paramBlock(): ParamBlock { return this.blk; }
  /** @internal */
  moveParams(params: number, grads: number): void { this.blk.moveTo(params, grads); }

  /** @internal Validate a state dict now, write it later (see ParamBlock.prepare). */
  prepareLoad(dict: unknown, what: string, prefix = ""): PreparedLoad {
    const p = this.blk.prepare(dict, what, false, prefix);
    return { check: p.check, write: () => { p.write(); this.cached = null; } };
  }
  /** @internal */
  chain(input: Port, at: string): Port { return chainLinear(this.config, input, at); }

  /** @internal `last` with ctx.logits: the logits, for a fused softmax-cross-entropy. */
  forwardFlow(ctx: Ctx, x: Flow, last: boolean): Flow {
    const R = x.seq ? ctx.T * ctx.B : ctx.B;
    const p = this.plan(R), act = last && ctx.logits ? 0 : this.act;
    this.run(p.y, x.ptr, R, act);
    this.cached = ctx.train ? { R, x: x.ptr, y: p.y, inModel: true } : null;
    this.flowAct = act;
    return { ptr: p.y, width: this.config.outputSize, seq: x.seq };
  }
  private flowAct = 0;

  /** @internal */
  backwardFlow(_ctx: Ctx, dy: number, wantDx: boolean): number {
    const c = this.cached!, dx = wantDx ? this.plan(c.R).dx : 0;
    this.back(dx, dy, c.R, this.flowAct);
    return dx;
  }

  /** @internal */
  stepFlow(x: number, B: number): number {
    const p = this.plan(B);
    this.run(p.y, x, B, this.act);
    return p.y;
  }

  /** @internal */
  spec(): LayerSpec {
    return { type: "linear", config: { ...this.config } };
  }

  /** Free the layer's wasm memory; a second call is harmless. */
  dispose(): void {
    LINEARS.check(this);
    if (this.disposed) return;
    this.disposed = true;
    this.ws.free();
    this.blk.free();
    this.slot.disposed();
  }

  /** @internal */
  get isDisposed(): boolean { LINEARS.check(this); return this.disposed; }

  /** @internal The block an optimizer updates. */
  get target(): ParamTarget {
    Linear.live(this);
    const b = this.blk;
    return this.slot.get(b.be, b.params, b.grads, b.total);
  }
  private readonly slot = new TargetSlot();

  // Static, so a method called on another object cannot pick up that object's own `live`.
  private static live(m: Linear): void {
    LINEARS.check(m);
    if (m.disposed) throw new LSTMError("linear", "a layer that has not been disposed", "a disposed layer");
  }
}
