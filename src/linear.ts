import { LSTMError, checkInt } from "./errors";
import { type Tensor, type TensorLike, toTensor } from "./tensor";
import { backend } from "./wasm/backend";
import { Workspace } from "./wasm/workspace";
import { type ParamEntry, panelSize, alignFloats } from "./layout";
import { ParamBlock } from "./params";
import { seededRandom } from "./rng";
import { checkKeys, checkOut, emit } from "./io";
import { type ParamTarget, cachedTarget } from "./optim";

/** Options of {@link Linear}; names follow torch.nn.Linear. */
export interface LinearOptions {
  inputSize: number;
  outputSize: number;
  /** Seed of PyTorch's default initialisation, U(−1/√inputSize, 1/√inputSize); random when omitted. */
  seed?: number;
}

/**
 * A dense layer y = x·Wᵀ + b with torch.nn.Linear's names: weight [O,In], bias [O].
 * Used as the head of a {@link Sequential}, and usable alone.
 * @example
 * const head = new Linear({ inputSize: 64, outputSize: 1, seed: 1 });
 * const y = head.forward(h, { train: true });  // h [N,64] → y [N,1]
 * const dh = head.backward(dy);                 // adds into head.grads()
 */
export class Linear {
  readonly config: Readonly<{ inputSize: number; outputSize: number }>;
  /** @internal */ readonly blk: ParamBlock;
  private readonly ws: Workspace;
  private cached: { R: number; x: number } | null = null;
  private disposed = false;

  constructor(opts: LinearOptions) {
    checkKeys("options", opts, ["inputSize", "outputSize", "seed"]);
    const In = checkInt("options.inputSize", opts.inputSize), O = checkInt("options.outputSize", opts.outputSize);
    const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkInt("options.seed", opts.seed, 0, 2 ** 32 - 1);
    this.config = Object.freeze({ inputSize: In, outputSize: O });
    const wSize = alignFloats(panelSize(O, In));
    const entries: ParamEntry[] = [
      { name: "weight", shape: [O, In], offset: 0, size: O * In, packed: true },
      { name: "bias", shape: [O], offset: wSize, size: O, packed: false },
    ];
    const be = backend();
    this.blk = new ParamBlock(be, entries, wSize + alignFloats(O));
    const rand = seededRandom(seed), k = 1 / Math.sqrt(In);
    this.blk.init((e) => Float32Array.from({ length: e.size }, () => (2 * rand() - 1) * k));
    this.ws = new Workspace(be, "linear buffers");
    // backwardPtr's scratch, reserved now: allocating it mid-batch could grow memory under a caller's view.
    this.ws.plan({ wt: panelSize(In, O) });
  }

  /** @internal Byte pointers of W (panels) and b. */
  get w(): number { return this.blk.params; }
  /** @internal */
  get b(): number { return this.blk.params + 4 * this.blk.entries[1].offset; }

  /** @internal y [R,O] = x [R,ldx]·Wᵀ + b on wasm pointers. */
  forwardPtr(y: number, x: number, ldx: number, R: number): void {
    const { inputSize: In, outputSize: O } = this.config;
    this.blk.be.k.linear_forward(y, x, ldx, this.w, this.b, R, In, O);
  }

  /**
   * @internal Gradients += from dy [R,O] and the forward's x; dx [R,ldx] overwritten (0 to skip).
   * pack: gemm_scratch_size(R, O) floats of scratch, planned by the caller with its other buffers.
   */
  backwardPtr(dx: number, dy: number, x: number, ldx: number, R: number, pack: number): void {
    const { inputSize: In, outputSize: O } = this.config;
    const { wt } = this.ws.plan({ wt: panelSize(In, O) });
    const K = this.blk.be.k, g = this.blk.grads;
    K.transpose_packed(wt, this.w, In, O);
    K.linear_backward(dx, g, g + 4 * this.blk.entries[1].offset, pack, dy, x, ldx, wt, R, In, O);
  }

  /**
   * @param x [N,In].
   * @param opts.train keep x for backward(); opts.out a [N,O] tensor to fill.
   * @returns y [N,O].
   * @throws LSTMError on a bad shape.
   */
  forward(x: TensorLike, opts: { train?: boolean; out?: Tensor } = {}): Tensor {
    this.live();
    checkKeys("options", opts, ["train", "out"]);
    const { inputSize: In, outputSize: O } = this.config;
    const xt = toTensor("x", x, [null, In]);
    const R = xt.shape[0];
    checkOut("options.out", opts.out, [R, O]);
    const p = this.plan(R); // as backward's, so x survives
    const heap = this.blk.be.f32;
    heap.set(xt.data, p.x >>> 2);
    this.forwardPtr(p.y, p.x, In, R);
    this.cached = opts.train ? { R, x: p.x } : null;
    return emit(heap, p.y, [R, O], opts.out);
  }

  /**
   * Backward of the last forward with { train: true }: adds into the gradients.
   * @param dy [N,O]. @returns dx [N,In].
   * @throws LSTMError without a training forward or on a bad shape.
   */
  backward(dy: TensorLike): Tensor {
    this.live();
    const c = this.cached;
    if (!c) throw new LSTMError("backward", "a previous forward(x, { train: true })", "no training forward");
    const { inputSize: In, outputSize: O } = this.config;
    const d = toTensor("dy", dy, [c.R, O]);
    const p = this.plan(c.R);
    const heap = this.blk.be.f32;
    heap.set(d.data, p.y >>> 2);
    this.backwardPtr(p.dx, p.y, p.x, In, c.R, p.pack);
    return emit(heap, p.dx, [c.R, In]);
  }

  // The buffers of forward() and backward() on R rows, laid out alike so that x survives between them.
  private plan(R: number) {
    const { inputSize: In, outputSize: O } = this.config;
    return this.ws.plan({ wt: panelSize(In, O), x: R * In, y: R * O, dx: R * In, pack: this.blk.be.k.gemm_scratch_size(R, O) });
  }

  /** { weight [O,In], bias [O] }, fresh copies. */
  stateDict(): Record<string, Tensor> { this.live(); return this.blk.read(); }
  /** The accumulated gradients, named as stateDict(). */
  grads(): Record<string, Tensor> { this.live(); return this.blk.read(true); }
  /** Replace weight and bias; validated before anything is written. */
  loadStateDict(dict: Record<string, TensorLike>): void { this.live(); this.blk.load(dict); this.cached = null; }
  zeroGrad(): void { this.live(); this.blk.zeroGrad(); }

  /** Free the layer's wasm memory; a second call is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ws.free();
    this.blk.free();
    for (const cb of this.disposeHooks.splice(0)) cb();
  }

  /** @internal */
  get isDisposed(): boolean { return this.disposed; }

  /** @internal The block an optimizer updates. */
  get target(): ParamTarget {
    this.live();
    const b = this.blk;
    return (this.tgt = cachedTarget(this.tgt, b.be, b.params, b.grads, b.total, this.onDispose));
  }
  private tgt: ParamTarget | null = null;
  private readonly onDispose = (cb: () => void): void => { this.disposeHooks.push(cb); };
  private disposeHooks: (() => void)[] = [];

  private live(): void {
    if (this.disposed) throw new LSTMError("linear", "a layer that has not been disposed", "a disposed layer");
  }
}


