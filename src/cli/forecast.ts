// Univariate forecasting with an LSTM on seasonal log-differences: the network learns how this
// month's year-over-year growth follows from the last `lookback` months' growth, and a forecast
// multiplies the value one season back by the predicted growth. Node-free: usable in a page too.
import { LSTM } from "../lstm";
import { Linear } from "../linear";
import { Sequential } from "../model/sequential";
import type { EpochLogs } from "../model/fit";
import { Adam } from "../optim";
import { LSTMError, describe } from "../errors";

export interface ForecastOptions {
  horizon?: number;  // points held out, and forecast beyond the end (default 12)
  season?: number;   // period of the seasonal naive baseline and of the differencing (default 12)
  lookback?: number; // months of growth the LSTM sees (default 12)
  hidden?: number;   // LSTM hidden size (default 32)
  epochs?: number;   // default 200
  seed?: number;     // default 1
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
}

export interface Scores { rmse: number; mape: number }
export interface ForecastResult {
  holdout: { actual: number[]; model: number[]; naive: number[] };
  scores: { model: Scores; naive: Scores };
  future: number[]; // the `horizon` points after the series ends
  model: Sequential;
  loss: number[];
}

export function scores(actual: number[], pred: number[]): Scores {
  let se = 0, ape = 0;
  actual.forEach((a, i) => { se += (a - pred[i]) ** 2; ape += Math.abs((a - pred[i]) / a); });
  return { rmse: Math.sqrt(se / actual.length), mape: (100 * ape) / actual.length };
}

/**
 * Train on all but the last `horizon` points, score that holdout against the seasonal naive
 * baseline (the value one season earlier), and forecast `horizon` points past the end.
 * @throws LSTMError when the series is too short or has non-positive or non-finite values.
 */
export async function forecastSeries(series: readonly number[], opts: ForecastOptions = {}): Promise<ForecastResult> {
  const h = opts.horizon ?? 12, s = opts.season ?? 12, L = opts.lookback ?? 12;
  const hidden = opts.hidden ?? 32, epochs = opts.epochs ?? 200, seed = opts.seed ?? 1;
  for (const [k, v] of Object.entries({ horizon: h, season: s, lookback: L, hidden, epochs })) {
    if (!Number.isInteger(v) || v < 1) throw new LSTMError(`--${k}`, "a positive integer", describe(v));
  }
  const bad = series.findIndex((v) => !(Number.isFinite(v) && v > 0));
  if (bad >= 0) throw new LSTMError(`series[${bad}]`, "positive finite values (the model works on log growth)", describe(series[bad]));
  const n = series.length, nTrain = n - h;
  const need = s + L + 8 + h;
  if (n < need) throw new LSTMError("series", `at least ${need} points for season ${s}, lookback ${L} and horizon ${h}`, `${n} points`);

  // z_t = log y_t − log y_{t−s}, standardised with the training part's statistics.
  const logy = series.map(Math.log);
  const zOf = (ly: number[]) => ly.map((v, t) => (t >= s ? v - ly[t - s] : NaN));
  const zTrain = zOf(logy.slice(0, nTrain)).slice(s);
  const mean = zTrain.reduce((a, b) => a + b, 0) / zTrain.length;
  const std = Math.sqrt(zTrain.reduce((a, b) => a + (b - mean) ** 2, 0) / zTrain.length) || 1;
  const norm = (z: number) => (z - mean) / std;

  const N = zTrain.length - L;
  const x = new Float32Array(N * L), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < L; t++) x[i * L + t] = norm(zTrain[i + t]);
    y[i] = norm(zTrain[i + L]);
  }
  const model = new Sequential([new LSTM({ inputSize: 1, hiddenSize: hidden, seed }), new Linear({ inputSize: hidden, outputSize: 1, seed: seed + 1 })]);
  const history = await model.fit({ data: x, shape: [N, L, 1] }, { data: y, shape: [N, 1] },
    { epochs, batchSize: 16, loss: "mse", optimizer: new Adam({ lr: 5e-3 }), clipNorm: 1, seed, onEpochEnd: opts.onEpochEnd });

  // Recursive forecast: each predicted growth joins the window for the next step.
  const extend = (known: readonly number[], steps: number): number[] => {
    const ly = known.map(Math.log), z = zOf(ly).map((v) => (Number.isNaN(v) ? NaN : norm(v)));
    const out: number[] = [];
    for (let k = 0; k < steps; k++) {
      const win = Float32Array.from(z.slice(z.length - L));
      const zn = model.predict({ data: win, shape: [1, L, 1] }).data[0];
      const t = ly.length;
      const next = ly[t - s] + (zn * std + mean);
      ly.push(next);
      z.push(zn);
      out.push(Math.exp(next));
    }
    return out;
  };
  const actual = series.slice(nTrain);
  const pred = extend(series.slice(0, nTrain), h);
  const naive = actual.map((_, k) => series[nTrain - s + (k % s)]); // the last observed season, repeated
  return {
    holdout: { actual: [...actual], model: pred, naive },
    scores: { model: scores([...actual], pred), naive: scores([...actual], naive) },
    future: extend(series, h),
    model,
    loss: history.loss,
  };
}
