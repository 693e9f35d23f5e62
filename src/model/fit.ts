// Training: mini-batches over a model's copy of the data, one optimizer update per batch, metrics,
// a validation split and early stopping. Yields to the event loop between batches.
import { LSTMError, describe, checkInt, checkBool } from "../errors";
import type { TensorLike } from "../tensor";
import type { IdsLike } from "../ids";
import { type LengthsLike, checkKeys } from "../io";
import { type SGD, type Adam, claimOptimizer } from "../optim";
import { seededRandom } from "../rng";
import { clipBlock } from "../clip";
import type { Sequential, LossName, Targets, Inputs } from "./sequential";

export interface EpochLogs { loss: number; valLoss?: number; accuracy?: number; valAccuracy?: number }
export interface History {
  loss: number[];
  valLoss: number[];
  /** With metrics: ['accuracy'] (cross-entropy): the fraction of correctly classified rows per epoch. */
  accuracy: number[];
  valAccuracy: number[];
  /** With earlyStopping: the epoch (0-based) whose validation loss was best, and whether training stopped early. */
  bestEpoch?: number;
  stoppedEarly?: boolean;
}
export interface EarlyStopping {
  /** Epochs without an improvement of the validation loss before training stops. */
  patience: number;
  /** The least decrease that counts as an improvement (default 0). */
  minDelta?: number;
  /** Restore the weights of the best epoch when training ends (default false). */
  restoreBest?: boolean;
}
export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  loss?: LossName;
  /** Any SGD, Adam or AdamW; its `lr` may be changed between epochs (e.g. from onEpochEnd) for a schedule. */
  optimizer: SGD | Adam;
  /** Clip the global gradient norm to this before each update. */
  clipNorm?: number;
  shuffle?: boolean;
  /** The last fraction of the samples (before shuffling) held out for a validation loss. */
  validationSplit?: number;
  /** Keys the shuffling and every dropout mask: the same seed gives the same run. */
  seed?: number;
  /** Valid steps per sample, [N]. */
  lengths?: LengthsLike;
  /** 'accuracy' (cross-entropy only): in the epoch logs and the history. */
  metrics?: "accuracy"[];
  /** Stop when the validation loss stops improving (needs validationSplit > 0). */
  earlyStopping?: EarlyStopping;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: { epoch: number; loss: number }) => void | Promise<void>;
}

const FIT_KEYS = ["epochs", "batchSize", "loss", "optimizer", "clipNorm", "shuffle", "validationSplit", "seed", "lengths", "metrics", "earlyStopping", "onEpochEnd", "onBatchEnd"];

/** Hand control back to the event loop (a page repaints, a worker gets its messages). */
const yieldNow = (): Promise<void> => new Promise((r) => (typeof setImmediate === "function" ? setImmediate(r) : setTimeout(r, 0)));

/** @internal Sequential.fit's body. */
export async function fit(m: Sequential, x: TensorLike | IdsLike, y: TensorLike | Int32Array, opts: FitOptions): Promise<History> {
  checkKeys("options", opts, FIT_KEYS);
  if (m.fitting) throw new LSTMError("fit", "one fit at a time per model", "a call while another fit is running");
  // Every option is read once, here: a getter cannot hand validation one value and the loop another.
  const o = { ...(opts as unknown as Record<string, unknown>) };
  const data = m.inputs(x);
  const { N } = data;
  const loss = m.lossName(o.loss);
  const Y = m.targets(y, loss, N, data.T);
  const lens = m.lengths(o.lengths, data);
  const epochs = checkInt("options.epochs", o.epochs ?? 1);
  const batchSize = checkInt("options.batchSize", o.batchSize ?? 32);
  const clip = o.clipNorm;
  if (clip !== undefined && !(typeof clip === "number" && clip > 0)) throw new LSTMError("options.clipNorm", "a number > 0", describe(clip));
  const shuffle = checkBool("options.shuffle", o.shuffle ?? true);
  const split = o.validationSplit ?? 0;
  if (typeof split !== "number" || !(split >= 0 && split < 1)) throw new LSTMError("options.validationSplit", "a number in [0, 1)", describe(split));
  const nVal = Math.floor(N * split), nTrain = N - nVal;
  if (nTrain < 1) throw new LSTMError("options.validationSplit", `a split that leaves training samples out of ${N}`, describe(split));
  const seed = o.seed === undefined ? 0 : checkInt("options.seed", o.seed, 0, 2 ** 32 - 1);
  const accuracy = checkMetrics(o.metrics, loss);
  const stop = checkEarlyStopping(o.earlyStopping, nVal);
  const onEpochEnd = o.onEpochEnd as FitOptions["onEpochEnd"], onBatchEnd = o.onBatchEnd as FitOptions["onBatchEnd"];
  if (onEpochEnd !== undefined && typeof onEpochEnd !== "function") throw new LSTMError("options.onEpochEnd", "a function", describe(onEpochEnd));
  if (onBatchEnd !== undefined && typeof onBatchEnd !== "function") throw new LSTMError("options.onBatchEnd", "a function", describe(onBatchEnd));
  const opt = o.optimizer as SGD | Adam;
  const release = claimOptimizer(opt, m); // the last check: nothing to undo after it

  const rand = seededRandom(seed);
  const keys = m.dropoutKeys();
  keys.seed = seed; keys.stream = 0;
  const idx = Int32Array.from({ length: N }, (_, i) => i);
  const history: History = { loss: [], valLoss: [], accuracy: [], valAccuracy: [] };
  let best = Infinity, bestEpoch = -1, bestWeights: Float32Array | null = null, waited = 0;
  m.fitting = true;
  try {
    let lastYield = performance.now();
    for (let epoch = 0; epoch < epochs; epoch++) {
      let batchNo = 0; // within the epoch, as Keras counts
      if (shuffle) for (let i = nTrain - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); const s = idx[i]; idx[i] = idx[j]; idx[j] = s; }
      let sum = 0, weight = 0, correct = 0, counted = 0;
      for (let b0 = 0; b0 < nTrain; b0 += batchSize) {
        const B = Math.min(batchSize, nTrain - b0);
        const r = trainBatch(m, data, lens, Y, idx, b0, B, opt, clip as number | undefined, epoch);
        sum += r.loss * B;
        weight += B;
        correct += r.correct;
        counted += r.counted;
        if (onBatchEnd) await onBatchEnd(batchNo++, { epoch, loss: r.loss });
        if (performance.now() - lastYield > 8) { await yieldNow(); lastYield = performance.now(); }
      }
      const logs: EpochLogs = { loss: sum / weight };
      history.loss.push(logs.loss);
      if (accuracy) history.accuracy.push((logs.accuracy = counted ? correct / counted : NaN));
      if (nVal > 0) {
        const v = m.meanLoss(data, lens, Y, idx, nTrain, N, batchSize);
        history.valLoss.push((logs.valLoss = v.loss));
        if (accuracy) history.valAccuracy.push((logs.valAccuracy = v.accuracy));
      }
      let done = false;
      if (stop) {
        if (logs.valLoss! < best - stop.minDelta) {
          best = logs.valLoss!;
          bestEpoch = epoch;
          waited = 0;
          if (stop.restoreBest) bestWeights = m.snapshot();
        } else if (++waited > stop.patience) done = true;
      }
      if (onEpochEnd) await onEpochEnd(epoch, logs);
      await yieldNow();
      lastYield = performance.now();
      if (done) { history.stoppedEarly = true; break; }
    }
    if (stop) {
      history.bestEpoch = bestEpoch;
      history.stoppedEarly ??= false;
      if (bestWeights) m.restore(bestWeights);
    }
  } finally {
    m.fitting = false;
    release();
  }
  return history;
}

function trainBatch(m: Sequential, data: Inputs, lens: Int32Array | null, Y: Targets, idx: Int32Array,
                    b0: number, B: number, opt: SGD | Adam, clip: number | undefined, epoch: number) {
  m.checkLive(); // a disposed model makes the running fit reject
  // Gradients start from zero every batch, so nothing added between batches (a stray backward
  // from a callback, say) can leak into the update.
  m.zeroGrad();
  const r = m.batch(data, lens, Y, idx, b0, B, true);
  const g = m.gradBlock();
  // The model's own clipping rule; a non-finite norm is never scaled, so it is seen below.
  const norm = clipBlock(m.be, g.ptr, g.n, clip ?? Infinity);
  if (!Number.isFinite(r.loss) || !Number.isFinite(norm)) {
    m.zeroGrad();
    throw new LSTMError("fit", "a finite loss and gradient (the weights from before this batch are kept)",
      `loss ${r.loss}, gradient norm ${norm} at epoch ${epoch}, batch starting at sample ${b0}`);
  }
  opt.step(m);
  return r;
}

function checkMetrics(v: unknown, loss: LossName): boolean {
  if (v === undefined) return false;
  if (!Array.isArray(v) || !v.every((k) => k === "accuracy")) throw new LSTMError("options.metrics", "['accuracy'] or []", describe(v));
  if (v.length && loss !== "crossEntropy") throw new LSTMError("options.metrics", "accuracy only with loss 'crossEntropy'", describe(v));
  return v.length > 0;
}

function checkEarlyStopping(v: unknown, nVal: number): { patience: number; minDelta: number; restoreBest: boolean } | null {
  if (v === undefined) return null;
  checkKeys("options.earlyStopping", v, ["patience", "minDelta", "restoreBest"]);
  const o = v as Record<string, unknown>;
  const patience = checkInt("options.earlyStopping.patience", o.patience, 0);
  const minDelta = o.minDelta ?? 0;
  if (typeof minDelta !== "number" || !(minDelta >= 0) || !Number.isFinite(minDelta)) throw new LSTMError("options.earlyStopping.minDelta", "a finite number >= 0", describe(minDelta));
  const restoreBest = checkBool("options.earlyStopping.restoreBest", o.restoreBest ?? false);
  if (nVal === 0) throw new LSTMError("options.earlyStopping", "a validationSplit > 0 (it watches the validation loss)", "no validation samples");
  return { patience, minDelta, restoreBest };
}
