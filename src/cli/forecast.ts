// Forecasting with an LSTM on a transformed series. The network sees the last `lookback` values of
// the transformed target (and of any covariates) and predicts the next `horizon` transformed values
// at once, so a forecast needs no future covariates. Transforms: seasonal log growth (strictly
// positive data), seasonal differences (any real data) or none; each standardised with the
// training part's statistics. Node-free: usable in a page too.
import { LSTM } from "../lstm";
import { Linear } from "../linear";
import { Sequential } from "../model/sequential";
import type { EpochLogs } from "../model/fit";
import { Adam } from "../optim";
import { LSTMError } from "../errors";
import { CliError, count } from "./cli-error";

export type Transform = "log" | "diff" | "none";
export const TRANSFORMS: readonly Transform[] = ["log", "diff", "none"];

export interface Series {
  column: string;
  values: readonly number[];
  features: { name: string; values: readonly number[] }[];
}
export interface Settings {
  transform: Transform;
  season: number;   // the seasonal-naive baseline's period, and the lag of log and diff
  lookback: number; // points the LSTM sees
  horizon: number;  // points held out, and forecast past the end
  hidden: number;
  epochs: number;
  seed: number;
}
export interface Stats { mean: number; std: number }

/** What a saved model needs to forecast: the JSON in model.safetensors' `__metadata__.forecast`. */
export interface ForecastMeta extends Settings {
  version: 1;
  column: string;
  features: string[];
  target: Stats;       // of the transformed target over the training part
  covariates: Stats[]; // of each feature over the training part
  rows: number;        // points trained on, the last `horizon` of them held out
  tail: { target: number[]; features: number[][] }; // the last tailLength() points, to forecast without the data
}
export const META_VERSION = 1;

export interface Scores { rmse: number; mae: number; mape: number | null }
export interface Prediction {
  heldOut: { actual: number[]; model: number[]; baseline: number[] };
  forecast: number[];
}

/** Fewest training windows accepted. */
const MIN_WINDOWS = 8;
const lagOf = (s: Pick<Settings, "transform" | "season">) => (s.transform === "none" ? 0 : s.season);

/** The fewest points a series needs for these settings. */
export function minPoints(s: Settings): number {
  const d = lagOf(s), h = s.horizon;
  return Math.max(MIN_WINDOWS + 2 * h + d + s.lookback - 1, s.season + h);
}
/** Points at the end of a series that forecasting and the held-out check read. */
export const tailLength = (s: Settings): number => s.horizon + Math.max(lagOf(s) + s.lookback, s.season);

/** log when every value is positive, diff otherwise; a requested transform is checked. */
export function chooseTransform(values: readonly number[], requested: Transform | undefined, column: string): { transform: Transform; reason: string } {
  let bad = -1;
  for (let i = 0; i < values.length && bad < 0; i++) if (!(values[i] > 0)) bad = i;
  if (requested === "log" && bad >= 0) {
    throw new CliError(`--transform log needs values > 0, but column ${JSON.stringify(column)} has ${values[bad]} at point ${bad + 1}; use --transform diff`);
  }
  if (requested) return { transform: requested, reason: "chosen with --transform" };
  return bad < 0
    ? { transform: "log", reason: "every value is positive" }
    : { transform: "diff", reason: `the series has values <= 0 (${values[bad]} at point ${bad + 1})` };
}

export function describeTransform(t: Transform, season: number): string {
  if (t === "log") return `log growth over ${season} step${season === 1 ? "" : "s"} (log y[t] - log y[t-${season}]), standardised`;
  if (t === "diff") return `differences over ${season} step${season === 1 ? "" : "s"} (y[t] - y[t-${season}]), standardised`;
  return "none (the values themselves, standardised)";
}

/** Refuse what cannot be trained on: a constant target, too few points, or (for log) values <= 0. */
export function checkSeries(series: Series, s: Settings): void {
  const v = series.values;
  let varies = false;
  for (let i = 1; i < v.length && !varies; i++) varies = v[i] !== v[0];
  if (!varies) throw new CliError(`column ${JSON.stringify(series.column)} is constant (every value is ${v[0]}): there is nothing to learn; its forecast is ${v[0]}`);
  const need = minPoints(s);
  if (v.length < need) {
    throw new CliError(`the series has ${count(v.length, "point")}; season ${s.season}, lookback ${s.lookback} and horizon ${s.horizon} ` +
      `with --transform ${s.transform} need at least ${need} (lower --lookback, --horizon or --season)`);
  }
}

function transformed(y: readonly number[], t: Transform, d: number, from: number, to: number): Float64Array {
  const z = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    z[i - from] = t === "log" ? Math.log(y[i]) - Math.log(y[i - d]) : t === "diff" ? y[i] - y[i - d] : y[i];
  }
  return z;
}

function statsOf(v: ArrayLike<number>): Stats {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += (v[i] - m) ** 2;
  const std = Math.sqrt(ss / v.length);
  // A constant input (a perfectly steady growth, say) is centred but not scaled.
  return { mean: m, std: std > 0 && Number.isFinite(std) ? std : 1 };
}

/** The model's input window for the block that starts at time T: times T-L … T-1, channel 0 the target. */
function fillWindow(x: Float32Array, at: number, y: readonly number[], feats: readonly (readonly number[])[], m: ForecastMeta, T: number): void {
  const L = m.lookback, d = lagOf(m), C = 1 + feats.length;
  const z = transformed(y, m.transform, d, T - L, T);
  for (let j = 0; j < L; j++) {
    x[at + j * C] = (z[j] - m.target.mean) / m.target.std;
    for (let f = 0; f < feats.length; f++) x[at + j * C + 1 + f] = (feats[f][T - L + j] - m.covariates[f].mean) / m.covariates[f].std;
  }
}

export interface TrainResult { model: Sequential; meta: ForecastMeta; loss: number[] }

/**
 * Train on all but the last `horizon` points. The caller has run checkSeries.
 * @throws CliError when training diverges.
 */
export async function train(series: Series, s: Settings, onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>): Promise<TrainResult> {
  const y = series.values, n = y.length, h = s.horizon, L = s.lookback, d = lagOf(s), nTrain = n - h;
  const F = series.features.length, C = 1 + F, K = tailLength(s);
  const z = transformed(y, s.transform, d, d, nTrain); // z[t - d] is time t's
  const meta: ForecastMeta = {
    version: META_VERSION, column: series.column, features: series.features.map((f) => f.name), ...s,
    target: statsOf(z),
    covariates: series.features.map((f) => statsOf(f.values.slice(0, nTrain))),
    rows: n,
    tail: { target: y.slice(n - K), features: series.features.map((f) => f.values.slice(n - K)) },
  };
  const feats = series.features.map((f) => f.values);
  const first = d + L, N = nTrain - h - first + 1;
  const x = new Float32Array(N * L * C), t = new Float32Array(N * h);
  for (let i = 0; i < N; i++) {
    const T = first + i;
    fillWindow(x, i * L * C, y, feats, meta, T);
    for (let k = 0; k < h; k++) t[i * h + k] = (z[T + k - d] - meta.target.mean) / meta.target.std;
  }
  const model = new Sequential([
    new LSTM({ inputSize: C, hiddenSize: s.hidden, seed: s.seed }),
    new Linear({ inputSize: s.hidden, outputSize: h, seed: (s.seed + 1) % 2 ** 32 }),
  ]);
  try {
    const history = await model.fit({ data: x, shape: [N, L, C] }, { data: t, shape: [N, h] },
      { epochs: s.epochs, batchSize: 16, loss: "mse", optimizer: new Adam({ lr: 5e-3 }), clipNorm: 1, seed: s.seed, onEpochEnd });
    return { model, meta, loss: history.loss };
  } catch (err) {
    model.dispose();
    if (err instanceof LSTMError && err.argument === "fit") {
      throw new CliError(`training diverged (${err.received}); try another --seed, a smaller --hidden or another --transform`);
    }
    throw err;
  }
}

/**
 * The held-out check (the model's forecast from `horizon` points before the end, against the
 * seasonal-naive baseline) and the forecast past the end. Reads only the last tailLength() points.
 */
export function predict(model: Sequential, m: ForecastMeta, y: readonly number[], feats: readonly (readonly number[])[]): Prediction {
  const n = y.length, h = m.horizon, L = m.lookback, C = 1 + feats.length, d = lagOf(m);
  const x = new Float32Array(2 * L * C);
  fillWindow(x, 0, y, feats, m, n - h);
  fillWindow(x, L * C, y, feats, m, n);
  const out = model.predict({ data: x, shape: [2, L, C] }).data;
  // Back to the series' scale; a value `d` back is observed before T and predicted from T on.
  const invert = (b: number, T: number): number[] => {
    const pred: number[] = [];
    for (let k = 0; k < h; k++) {
      const z = out[b * h + k] * m.target.std + m.target.mean;
      const back = d === 0 ? 0 : k >= d ? pred[k - d] : y[T + k - d];
      pred.push(m.transform === "log" ? back * Math.exp(z) : m.transform === "diff" ? back + z : z);
    }
    return pred;
  };
  const s = m.season, nTrain = n - h;
  return {
    heldOut: {
      actual: y.slice(nTrain),
      model: invert(0, nTrain),
      baseline: Array.from({ length: h }, (_, k) => y[nTrain - s + (k % s)]), // the last observed season, repeated
    },
    forecast: invert(1, n),
  };
}

export function scores(actual: readonly number[], pred: readonly number[]): Scores {
  let se = 0, ae = 0, ape = 0, zero = false;
  for (let i = 0; i < actual.length; i++) {
    const e = actual[i] - pred[i];
    se += e * e;
    ae += Math.abs(e);
    if (actual[i] === 0) zero = true;
    else ape += Math.abs(e / actual[i]);
  }
  const n = actual.length;
  return { rmse: Math.sqrt(se / n), mae: ae / n, mape: zero ? null : (100 * ape) / n }; // MAPE is undefined at a zero
}
