import { LSTMError, checkInt, checkBool, describe } from "../errors";
import { type Tensor, type TensorLike, toTensor } from "../tensor";
import { backend } from "../wasm/backend";
import { Workspace } from "../wasm/workspace";
import { checkKeys } from "../io";
import { Brand } from "../brand";
import type { PreparedLoad } from "../params";
import type { Ctx, Flow, Port, LayerSpec } from "./layer";

/** @internal Every Dropout the constructor made. */
export const DROPOUTS = new Brand("dropout", "a Dropout made with new Dropout(…)");

/** @internal The option checked (see checkLSTMOptions). */
export function checkDropoutOptions(opts: { p: number }, at = "options"): { p: number } {
  checkKeys(at, opts, ["p"]);
  const p: unknown = opts.p;
  if (typeof p !== "number" || !(p >= 0 && p < 1)) throw new LSTMError(`${at}.p`, "a number in [0, 1)", describe(p));
  return { p };
}

/** @internal Dropout passes its input's shape on. */
export function chainDropout(_cfg: { p: number }, input: Port, at: string): Port {
  if (input.ids) throw new LSTMError(at, "float features (put an Embedding first to turn token ids into them)", "token ids");
  return input;
}

/**
 * Inverted dropout (torch.nn.Dropout): in training each element is zeroed with probability p and
 * the rest scaled by 1/(1−p); at inference it is exactly the identity. Masks come from a seeded
 * counter-based generator (assembly/dropout.ts), so a fit with the same seed draws the same masks.
 * @example
 * const model = new Sequential([embed, lstm, new Dropout({ p: 0.3 }), head]);
 */
export class Dropout {
  readonly config: Readonly<{ p: number }>;
  /** @internal The build it runs on (the one loaded when it was made), as every layer of a model must share. */
  readonly be = backend();
  private readonly ws = new Workspace(this.be, "dropout buffers");
  private disposed = false;
  private n = 0;
  private mask = 0;

  /** @param opts.p the probability of dropping an element, in [0, 1). */
  constructor(opts: { p: number }) {
    this.config = Object.freeze(checkDropoutOptions(opts));
    DROPOUTS.add(this);
  }

  /**
   * @param x any shape.
   * @param opts.train drop (default false: the identity, a copy of x). opts.seed keys the mask (default 0);
   *   opts.stream picks one of its masks (default 0).
   * @returns x with dropped elements zeroed and the rest scaled by 1/(1−p).
   */
  forward(x: TensorLike, opts: { train?: boolean; seed?: number; stream?: number } = {}): Tensor {
    Dropout.live(this);
    checkKeys("options", opts, ["train", "seed", "stream"]);
    const train = checkBool("options.train", opts.train ?? false);
    const seed = checkInt("options.seed", opts.seed ?? 0, 0, 2 ** 32 - 1), stream = checkInt("options.stream", opts.stream ?? 0, 0, 2 ** 32 - 1);
    const s: unknown = x !== null && typeof x === "object" && !Array.isArray(x) && !ArrayBuffer.isView(x) ? (x as Tensor).shape : undefined;
    const t = toTensor("x", x, Array.isArray(s) ? s.map(() => null) : [null]);
    if (!train || this.config.p === 0) return { data: new Float32Array(t.data), shape: t.shape };
    const n = t.data.length, be = this.be;
    const p = this.ws.plan({ y: n, mask: n });
    be.f32.set(t.data, p.y >>> 2);
    be.k.dropout_forward(p.y, p.mask, p.y, n, this.config.p, seed, stream, 0);
    return { data: be.f32.slice(p.y >>> 2, (p.y >>> 2) + n), shape: t.shape };
  }

  // ---------------------------------------------------------------- the layer protocol (layer.ts)

  /** @internal No parameters. */
  paramBlock(): null { return null; }
  /** @internal */
  moveParams(): void {}
  /** @internal No parameters: only an empty dict. */
  prepareLoad(dict: unknown, what: string, prefix = ""): PreparedLoad {
    if (dict === null || typeof dict !== "object") throw new LSTMError(what, "an object of named tensors", describe(dict));
    for (const k of Object.keys(dict)) throw new LSTMError(`${what}["${prefix}${k}"]`, "no keys (a Dropout has no parameters)", "an unknown key");
    return { check: () => {}, write: () => {} };
  }
  /** @internal */
  chain(input: Port, at: string): Port { return chainDropout(this.config, input, at); }

  /** @internal */
  needBytes(ctx: Ctx, x: Flow): number {
    const n = (x.seq ? ctx.T * ctx.B : ctx.B) * x.width;
    return ctx.train && this.config.p > 0 ? Workspace.bytes({ y: n, mask: n }) : 0;
  }

  /** @internal The identity (the same rows) unless training. */
  forwardFlow(ctx: Ctx, x: Flow): Flow {
    this.n = 0;
    if (!ctx.train || this.config.p === 0) return x;
    const n = (x.seq ? ctx.T * ctx.B : ctx.B) * x.width;
    const p = this.ws.plan({ y: n, mask: n });
    this.be.k.dropout_forward(p.y, p.mask, x.ptr, n, this.config.p, ctx.keys.seed >>> 0, ctx.keys.stream++ >>> 0, 0);
    this.n = n;
    this.mask = p.mask;
    return { ptr: p.y, width: x.width, seq: x.seq };
  }

  /** @internal In place: dy becomes dL/dx (the rows are this layer's own gradient buffer from the next layer). */
  backwardFlow(_ctx: Ctx, dy: number): number {
    if (this.n > 0) this.be.k.dropout_backward(dy, dy, this.mask, this.n);
    return dy;
  }

  /** @internal */
  stepFlow(x: number): number { return x; }
  /** @internal */
  spec(): LayerSpec { return { type: "dropout", config: { ...this.config } }; }
  stateDict(): Record<string, Tensor> { Dropout.live(this); return {}; }
  grads(): Record<string, Tensor> { Dropout.live(this); return {}; }
  /** A Dropout has no parameters: only {} is accepted. */
  loadStateDict(dict: Record<string, TensorLike>): void {
    Dropout.live(this);
    checkKeys("stateDict", dict, []);
  }

  /** Free the layer's wasm memory; a second call is harmless. */
  dispose(): void {
    DROPOUTS.check(this);
    if (this.disposed) return;
    this.disposed = true;
    this.ws.free();
  }
  /** @internal */
  get isDisposed(): boolean { DROPOUTS.check(this); return this.disposed; }

  private static live(m: Dropout): void {
    DROPOUTS.check(m);
    if (m.disposed) throw new LSTMError("dropout", "a layer that has not been disposed", "a disposed layer");
  }
}
