import { LSTMError, checkInt, checkBool } from "../errors";
import type { Tensor, TensorLike } from "../tensor";
import { toTensor } from "../tensor";
import { backend } from "../wasm/backend";
import { Workspace } from "../wasm/workspace";
import { LayoutBuilder } from "../layout";
import { ParamBlock, type PreparedLoad } from "../params";
import { seededRandom } from "../rng";
import { normal } from "../init";
import { checkKeys } from "../io";
import { type ParamTarget, TargetSlot, registerTrainable } from "../optim";
import { Brand } from "../brand";
import { type IdsLike, toIds } from "../ids";
import { type Ctx, type Flow, type Port, type LayerSpec, ownTrainingPass } from "./layer";

/** @internal Every Embedding the constructor made. */
export const EMBEDDINGS = new Brand("embedding", "an Embedding made with new Embedding(…)");

/** Options of {@link Embedding}; names follow torch.nn.Embedding. */
export interface EmbeddingOptions {
  /** V: the vocabulary size; ids are integers in [0, V). */
  numEmbeddings: number;
  /** E: the width of each embedding. */
  embeddingDim: number;
  /** torch's padding_idx: this id's row starts at 0 and never gets a gradient. */
  paddingIdx?: number;
  /**
   * Keras's mask_zero: id 0 is padding, and the LSTMs after this layer skip those steps as Keras
   * does (a masked step carries the previous state and output), wherever they are in a sequence.
   */
  maskZero?: boolean;
  /** Seed of the initialisation, N(0, 1) as torch's; random when omitted. */
  seed?: number;
}

/** An Embedding's configuration. */
export interface EmbeddingConfig { numEmbeddings: number; embeddingDim: number; paddingIdx: number | null; maskZero: boolean }

/** @internal Every option checked, nothing allocated (see checkLSTMOptions). */
export function checkEmbeddingOptions(opts: EmbeddingOptions, at = "options"): { cfg: EmbeddingConfig; seed: number } {
  checkKeys(at, opts, ["numEmbeddings", "embeddingDim", "paddingIdx", "maskZero", "seed"]);
  const o = opts as unknown as Record<string, unknown>;
  const V = checkInt(`${at}.numEmbeddings`, o.numEmbeddings), E = checkInt(`${at}.embeddingDim`, o.embeddingDim);
  const paddingIdx = o.paddingIdx === undefined || o.paddingIdx === null ? null : checkInt(`${at}.paddingIdx`, o.paddingIdx, 0, V - 1);
  const maskZero = checkBool(`${at}.maskZero`, o.maskZero ?? false);
  const seed = o.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : checkInt(`${at}.seed`, o.seed, 0, 2 ** 32 - 1);
  if (8 * V * E > 2 ** 32) throw new LSTMError(at, "a table whose weights and gradients fit in wasm32's 4 GiB", `${V}×${E}, needing ${8 * V * E} bytes`);
  return { cfg: { numEmbeddings: V, embeddingDim: E, paddingIdx, maskZero }, seed };
}

/** @internal An Embedding reads the model's ids, so it comes first. */
export function chainEmbedding(cfg: EmbeddingConfig, input: Port, at: string): Port {
  if (!input.ids) throw new LSTMError(at, "the first layer (an Embedding reads the model's token ids)", "a layer after another");
  return { width: cfg.embeddingDim, seq: input.seq, ids: false };
}

/**
 * A lookup table: id → a learned row of weight [V, E] (torch.nn.Embedding's name and shape). In a
 * {@link Sequential} it comes first and turns [N,T] ids into [N,T,E] features.
 * @example
 * const embed = new Embedding({ numEmbeddings: 64, embeddingDim: 32, seed: 1 });
 * embed.forward([[3, 1, 4]]).shape; // [1, 3, 32]
 */
export class Embedding {
  readonly config: Readonly<EmbeddingConfig>;
  private readonly blk: ParamBlock;
  private readonly ws: Workspace;
  private disposed = false;
  // The last training forward's ids (R of them), for the scatter-add.
  private cached: { R: number; ids: number; inModel: boolean } | null = null;

  /** @throws LSTMError on a bad option, or a table that cannot fit in wasm memory. */
  constructor(opts: EmbeddingOptions) {
    const { cfg, seed } = checkEmbeddingOptions(opts);
    const { embeddingDim: E, paddingIdx } = cfg;
    this.config = Object.freeze(cfg);
    const V = cfg.numEmbeddings;
    const layout = new LayoutBuilder();
    layout.add("weight", [V, E], false);
    const be = backend();
    this.blk = new ParamBlock(be, layout.entries, layout.total);
    const gauss = normal(seededRandom(seed));
    this.blk.init((e) => {
      const w = Float32Array.from({ length: e.size }, gauss);
      if (paddingIdx !== null) w.fill(0, paddingIdx * E, (paddingIdx + 1) * E); // as torch
      return w;
    });
    this.ws = new Workspace(be, "embedding buffers");
    EMBEDDINGS.add(this);
    registerTrainable(this, () => this.target);
  }

  /**
   * Look ids up.
   * @param ids integers in [0, V) of any shape: nested arrays, an Int32Array (shape [n]), a
   *   Float32Array of integral values, or a { data, shape } tensor of either.
   * @param opts.train keep the ids for backward().
   * @returns [...ids.shape, E].
   * @throws LSTMError naming the position of a bad id.
   */
  forward(ids: IdsLike, opts: { train?: boolean } = {}): Tensor {
    Embedding.live(this);
    checkKeys("options", opts, ["train"]);
    const train = checkBool("options.train", opts.train ?? false);
    const { numEmbeddings: V, embeddingDim: E } = this.config;
    const t = toIds("ids", ids, null, V);
    const R = t.data.length;
    const p = this.ws.plan({ ids: R, y: R * E });
    const be = this.blk.be;
    be.i32.set(t.data, p.ids >>> 2);
    be.k.embedding_forward(p.y, p.ids, this.blk.params, R, E);
    this.cached = train ? { R, ids: p.ids, inModel: false } : null;
    return { data: be.f32.slice(p.y >>> 2, (p.y >>> 2) + R * E), shape: [...t.shape, E] };
  }

  /**
   * Backward of the last forward with { train: true }: adds dy's rows into the weight's gradient
   * at their ids (a scatter-add; paddingIdx gets nothing).
   * @param dy [...ids.shape, E].
   */
  backward(dy: TensorLike): void {
    Embedding.live(this);
    const c = ownTrainingPass(this.cached, "forward(ids, { train: true })");
    const E = this.config.embeddingDim;
    const d = toTensor("dy", dy, [c.R, E]);
    const p = this.ws.plan({ ids: c.R, y: c.R * E });
    this.blk.be.f32.set(d.data, p.y >>> 2);
    this.scatter(p.y, c.ids, c.R);
  }

  private scatter(dy: number, ids: number, R: number): void {
    this.blk.be.k.embedding_backward(this.blk.grads, dy, ids, R, this.config.embeddingDim, this.config.paddingIdx ?? -1);
  }

  /** { weight [V,E] }, a fresh copy. */
  stateDict(): Record<string, Tensor> { Embedding.live(this); return this.blk.read(); }
  /** The accumulated gradient, named as stateDict(). */
  grads(): Record<string, Tensor> { Embedding.live(this); return this.blk.read(true); }
  /** Replace the weight; validated before anything is written. */
  loadStateDict(dict: Record<string, TensorLike>): void { Embedding.live(this); this.blk.load(dict); this.cached = null; }
  zeroGrad(): void { Embedding.live(this); this.blk.zeroGrad(); }

  // ---------------------------------------------------------------- the layer protocol (layer.ts)

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
  chain(input: Port, at: string): Port { return chainEmbedding(this.config, input, at); }

  /** @internal */
  needBytes(ctx: Ctx): number { return Workspace.bytes({ y: ctx.T * ctx.B * this.config.embeddingDim }); }

  /** @internal x: i32 ids [T,B], already checked against the vocabulary. */
  forwardFlow(ctx: Ctx, x: Flow): Flow {
    const R = ctx.T * ctx.B, E = this.config.embeddingDim;
    const { y } = this.ws.plan({ ids: 0, y: R * E });
    this.blk.be.k.embedding_forward(y, x.ptr, this.blk.params, R, E);
    this.cached = ctx.train ? { R, ids: x.ptr, inModel: true } : null;
    return { ptr: y, width: E, seq: x.seq };
  }

  /** @internal No dx: ids have no gradient. */
  backwardFlow(_ctx: Ctx, dy: number): number {
    const c = this.cached!;
    this.scatter(dy, c.ids, c.R);
    return 0;
  }

  /** @internal */
  stepFlow(x: number, B: number): number {
    const E = this.config.embeddingDim;
    const { y } = this.ws.plan({ ids: 0, y: B * E });
    this.blk.be.k.embedding_forward(y, x, this.blk.params, B, E);
    return y;
  }

  /** @internal */
  spec(): LayerSpec {
    return { type: "embedding", config: { ...this.config } };
  }

  /** Free the layer's wasm memory; a second call is harmless. */
  dispose(): void {
    EMBEDDINGS.check(this);
    if (this.disposed) return;
    this.disposed = true;
    this.ws.free();
    this.blk.free();
    this.slot.disposed();
  }

  /** @internal */
  get isDisposed(): boolean { EMBEDDINGS.check(this); return this.disposed; }

  /** @internal The block an optimizer updates. */
  get target(): ParamTarget {
    Embedding.live(this);
    const b = this.blk;
    return this.slot.get(b.be, b.params, b.grads, b.total);
  }
  private readonly slot = new TargetSlot();

  private static live(m: Embedding): void {
    EMBEDDINGS.check(m);
    if (m.disposed) throw new LSTMError("embedding", "a layer that has not been disposed", "a disposed layer");
  }
}
