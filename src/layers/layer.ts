// The one protocol every layer of a Sequential speaks. A layer states its parameters (a ParamBlock
// from the one layout builder, src/layout.ts), how its width chains, and runs forward and backward
// over a per-call context on wasm pointers. Each layer plans its own buffers per call shape (T, B,
// training or not) and reuses them while the shape repeats, so a training loop grows no wasm memory
// after its first batch.
//
// Data between layers is rows of floats, time-major: a sequence is [T,B,W], a vector per sample
// (after an LSTM with returnSequences: false) is [B,W]. An Embedding reads i32 ids [T,B].
import { LSTMError } from "../errors";
import type { ParamBlock, PreparedLoad } from "../params";
import type { Tensor, TensorLike } from "../tensor";

/**
 * A layer's own backward() follows its own forward(…, { train: true }): not none, and not a model's
 * training pass through the layer (whose buffers and inputs are the model's; the model runs that
 * pass's backward). `c` is what the layer kept of its last training forward.
 */
export function ownTrainingPass<C extends { inModel: boolean }>(c: C | null, forward: string, none = "no training forward"): C {
  if (!c) throw new LSTMError("backward", `a previous ${forward}`, none);
  if (c.inModel) throw new LSTMError("backward", `a previous ${forward} of this layer itself`, "a model's training pass through it last (the model runs that pass's backward)");
  return c;
}

/** A layer's name in a model: letters, digits, _ or - (no ".", which separates it from a tensor's name), 1 to 64. */
export const LAYER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** What flows into or out of a layer, as the model is built. */
export interface Port {
  /** Floats per row (for ids: 1). */
  width: number;
  /** [T,B,width] rows when true, [B,width] when false. */
  seq: boolean;
  /** Integer ids (only an Embedding reads them). */
  ids: boolean;
}

/** A buffer of rows in wasm memory, shaped as a Port says. */
export interface Flow {
  ptr: number;
  width: number;
  seq: boolean;
}

/** One call through a model: its sizes and mode, which steps count, and its dropout keys. */
export class Ctx {
  T = 0;
  B = 0;
  train = false;
  /** i32 [B] valid lengths (PyTorch's packed sequences) or 0. */
  lens = 0;
  /** i32 [T,B] Keras mask from an Embedding with maskZero (nonzero: a real step) or 0. */
  mask = 0;
  /** Dropout keys: every mask drawn takes the next stream (see assembly/dropout.ts). */
  readonly keys = { seed: 0, stream: 0 };
  /** The last layer returns logits for a fused softmax-cross-entropy (its softmax is skipped). */
  logits = false;
}

/** A layer's configuration as saved in a model file. */
export interface LayerSpec {
  type: "lstm" | "linear" | "embedding" | "dropout";
  config: Record<string, number | boolean | string | null>;
}

/** @internal What Sequential needs of each layer. */
export interface ModelLayer {
  /** The parameters, or null (Dropout). */
  paramBlock(): ParamBlock | null;
  /** Move the parameters into a model's shared block. */
  moveParams(params: number, grads: number): void;
  /**
   * The output port for `input`; an LSTMError naming `at` when the widths do not chain. (Each
   * class's chain* function beside it does the same on a bare config, for files read before building.)
   */
  chain(input: Port, at: string): Port;
  /** The bytes of the buffers forwardFlow (and backwardFlow, in training) would plan for x: checked before any is allocated. */
  needBytes(ctx: Ctx, x: Flow): number;
  /** Forward over one call's rows; returns this layer's output rows (valid until its next call). */
  forwardFlow(ctx: Ctx, x: Flow, last: boolean): Flow;
  /** Backward of the last training forwardFlow: adds parameter gradients, returns dL/dx (0 if not wanted or none). */
  backwardFlow(ctx: Ctx, dy: number, wantDx: boolean): number;
  /** One streaming step of rows x [B,in]; an LSTM also takes its state (h, c pointers, updated in place). */
  stepFlow(x: number, B: number, h: number, c: number): number;
  spec(): LayerSpec;
  stateDict(): Record<string, Tensor>;
  grads(): Record<string, Tensor>;
  loadStateDict(dict: Record<string, TensorLike>): void;
  /** Validate a state dict now; write it only after every layer's check() (no half-loading). */
  prepareLoad(dict: unknown, what: string, prefix: string): PreparedLoad;
  readonly isDisposed: boolean;
  dispose(): void;
}
