// `lstm-wasm forecast`: everything that can be checked is checked before training (flags, input,
// output directory, size), the model is written as soon as it is trained, then the forecast,
// forecast.csv, the SVG and the report follow.
import cliProgress from "cli-progress";
import { init, type BackendName } from "../wasm/backend";
import { LSTMError } from "../errors";
import { LSTM } from "../lstm";
import { Linear } from "../linear";
import { Sequential } from "../model/sequential";
import type { EpochLogs } from "../model/fit";
import { Adam } from "../optim";
import { CliError, UsageError, count } from "./cli-error";
import { builtIn, fromCsv, fromModel, TooLong, type DataFlags, type Loaded } from "./data";
import { checkOutDir, readInput, writeOutput } from "./files";
import { chooseTransform, checkSeries, train, predict, scores, minPoints, type ForecastMeta, type Settings, type Transform } from "./forecast";
import { loadModel, modelBytes } from "./model-file";
import { svgChart } from "./plot";
import { textHeading, textReport, jsonReport, forecastCsv, useColor, type Outcome } from "./report";

export interface Flags extends DataFlags, Omit<Settings, "transform"> {
  transform?: Transform;
  backend?: BackendName | "auto";
  out: string;
  json: boolean;
  quiet: boolean;
  model?: string;
  given: Set<string>; // flags typed on the command line, not defaults
}

const OUTPUTS = ["model.safetensors", "forecast.csv", "forecast.svg"];
/** Training flags a saved model already fixes. */
const TRAINING_FLAGS = ["transform", "season", "lookback", "horizon", "hidden", "epochs", "seed"];
/** Say how long training will take when it is longer than this. */
const ANNOUNCE_SECONDS = 20;
/** Largest training set, inputs and targets, in bytes. */
const MAX_WINDOW_BYTES = 2 ** 30;
/** Plot at most this many of the latest points. */
const PLOT_POINTS = 3_000;

const err = (line: string) => process.stderr.write(line + "\n");

export async function runForecast(file: string | undefined, f: Flags): Promise<void> {
  for (const k of TRAINING_FLAGS) {
    if (f.model !== undefined && f.given.has(k)) {
      throw new UsageError(`--${k} cannot be used with --model: a saved model keeps the settings it was trained with`);
    }
  }
  checkOutDir(f.out, f.model !== undefined ? OUTPUTS.slice(1) : OUTPUTS);
  let backend: BackendName;
  try {
    backend = (await init(f.backend ? { backend: f.backend } : {})).backend;
  } catch (e) {
    throw new CliError(`--backend ${f.backend}: ${e instanceof LSTMError ? e.received : String(e)} (this runtime cannot run it)`);
  }
  if (f.model !== undefined) return reuse(file, f, f.model, backend);

  let data: Loaded;
  try {
    data = file === undefined ? builtIn(f) : fromCsv(file, f);
  } catch (e) {
    if (!(e instanceof TooLong)) throw e;
    const est = await estimate(e.used, f, f.features?.length ?? 0);
    throw new TooLong(...e.args, `: training ${count(f.epochs, "epoch")} on them would take ${est.text} here`);
  }
  const { transform, reason } = chooseTransform(data.series.values, f.transform, data.series.column);
  const s: Settings = { transform, season: f.season, lookback: f.lookback, horizon: f.horizon, hidden: f.hidden, epochs: f.epochs, seed: f.seed };
  checkSeries(data.series, s);
  for (const x of data.series.features) {
    if (x.values.every((v) => v === x.values[0]) && !f.quiet) err(`warning: feature ${JSON.stringify(x.name)} is constant, so it cannot help`);
  }
  const F = data.series.features.length, windows = data.series.values.length - minPoints(s) + 8;
  const bytes = 4 * windows * (f.lookback * (1 + F) + f.horizon);
  if (bytes > MAX_WINDOW_BYTES) {
    throw new CliError(`the training windows would take ${(bytes / 2 ** 30).toFixed(1)} GB (${count(windows, "window")} of ${f.lookback} steps); lower --lookback or use --tail`);
  }
  if (!f.quiet && windows * f.epochs > 1e6) {
    const est = await estimate(windows, f, F);
    if (est.secs > ANNOUNCE_SECONDS) err(`training ${count(f.epochs, "epoch")} on ${count(windows, "window")}${F ? ", twice (with and without features)" : ""} will take ${est.text} (--tail or --epochs shorten it)`);
  }

  if (!f.json) process.stdout.write(textHeading({ source: data.source, rows: data.series.values.length, backend, transformReason: reason, modelFile: null,
    meta: { ...s, column: data.series.column, features: data.series.features.map((x) => x.name) } }) + "\n");
  const t0 = performance.now();
  const main = await train(data.series, s, progress(f, F ? "training with features" : "training"));
  const seconds = (performance.now() - t0) / 1000;
  const files: Outcome["files"] = {};
  try {
    files.model = writeOutput(f.out, "model.safetensors", modelBytes(main.model, main.meta));
    let univariate: Outcome["univariate"] = null;
    if (F) { // the same LSTM without the features, to say whether they helped; only a comparison, so never fatal
      try {
        const uni = await train({ ...data.series, features: [] }, s, progress(f, "training without features (for comparison)"));
        try {
          const p = predict(uni.model, uni.meta, data.series.values, []);
          univariate = { forecast: p.heldOut.model, scores: scores(p.heldOut.actual, p.heldOut.model) };
        } finally {
          uni.model.dispose();
        }
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        if (!f.quiet) err(`warning: the comparison without features failed: ${e.message}`);
      }
    }
    const outcome = finish(data, main.model, main.meta, reason, backend, f, files, univariate,
      { seconds: Math.round(seconds * 1000) / 1000, finalLoss: main.loss[main.loss.length - 1] }, null);
    print(outcome, f);
  } finally {
    main.model.dispose();
  }
}

/** --model: forecast with a saved model, no training. */
async function reuse(file: string | undefined, f: Flags, modelFile: string, backend: BackendName): Promise<void> {
  const { model, meta } = loadModel(readInput(modelFile, "--model", true), modelFile);
  try {
    const data = file === undefined ? fromModel(meta, modelFile, f) : fromCsv(file, f, { meta, file: modelFile });
    const need = meta.tail.target.length;
    if (data.series.values.length < need) {
      throw new CliError(`${data.source} has ${count(data.series.values.length, "point")}; --model ${modelFile} needs at least ${need} (season ${meta.season}, lookback ${meta.lookback}, horizon ${meta.horizon})`);
    }
    const bad = meta.transform === "log" ? data.series.values.slice(-need).find((v) => !(v > 0)) : undefined;
    if (bad !== undefined) throw new CliError(`--model ${modelFile} works on log growth, which needs values > 0, but ${data.source} has ${bad} among its last ${need}`);
    const o = finish(data, model, meta, "as saved in the model", backend, f, {}, null, null, modelFile);
    if (!f.json) process.stdout.write(textHeading(o) + "\n");
    print(o, f);
  } finally {
    model.dispose();
  }
}

function finish(data: Loaded, model: Sequential, meta: ForecastMeta, reason: string, backend: string, f: Flags,
                files: Outcome["files"], univariate: Outcome["univariate"], training: Outcome["training"], modelFile: string | null): Outcome {
  const y = data.series.values, n = y.length, h = meta.horizon;
  const prediction = predict(model, meta, y, data.series.features.map((x) => x.values));
  if (!prediction.forecast.concat(prediction.heldOut.model).every(Number.isFinite) && !f.quiet) {
    err("warning: the forecast has non-finite values (the model extrapolates far outside its training data)");
  }
  const o: Outcome = {
    source: data.source, rows: n, backend, meta, transformReason: reason, recent: y.slice(Math.max(0, n - 60 - h)),
    prediction, scores: { model: scores(prediction.heldOut.actual, prediction.heldOut.model), baseline: scores(prediction.heldOut.actual, prediction.heldOut.baseline) },
    univariate, training, modelFile, files,
  };
  files.forecastCsv = writeOutput(f.out, "forecast.csv", forecastCsv(o));
  const from = Math.max(0, n - Math.max(PLOT_POINTS, 4 * h));
  const title = `LSTM forecast: ${meta.column}${from > 0 ? ` (the last ${(n - from).toLocaleString("en-US")} of ${n.toLocaleString("en-US")} points)` : ""}`;
  files.svg = writeOutput(f.out, "forecast.svg", svgChart(title, [
    { label: "history", color: "#444", x0: 0, values: y.slice(from, n - h + 1) },
    { label: "holdout (actual)", color: "#2a9d4b", x0: n - h - 1 - from, values: y.slice(n - h - 1) },
    { label: "LSTM on the holdout", color: "#e08a00", x0: n - h - 1 - from, values: [y[n - h - 1]].concat(prediction.heldOut.model) },
    { label: "seasonal naive", color: "#999", x0: n - h - from, values: prediction.heldOut.baseline, dashed: true },
    { label: `forecast (next ${h})`, color: "#b0309a", x0: n - 1 - from, values: [y[n - 1]].concat(prediction.forecast) },
  ], (i) => data.label(i + from, meta.season)));
  return o;
}

function print(o: Outcome, f: Flags): void {
  if (f.json) process.stdout.write(compactArrays(JSON.stringify(jsonReport(o), null, 2)) + "\n");
  else process.stdout.write(textReport(o, useColor(process.env, process.stdout.isTTY === true)) + "\n");
}

// Indented JSON with each array of numbers on one line, so the object reads well in a terminal too.
const compactArrays = (text: string) =>
  text.replace(/\[\n\s*((?:-?[\d.e+-]+|null)(?:,\n\s*(?:-?[\d.e+-]+|null))*)\n\s*\]/g, (_, items: string) => `[${items.split(/,\n\s*/).join(", ")}]`);

// A bar on a terminal, otherwise a line every eighth of the run, both on stderr; nothing with --quiet.
function progress(f: Flags, what: string): ((epoch: number, logs: EpochLogs) => void) | undefined {
  if (f.quiet) return undefined;
  const every = Math.max(1, Math.round(f.epochs / 8));
  if (!process.stderr.isTTY) {
    return (e, logs) => { if ((e + 1) % every === 0 || e === 0 || e + 1 === f.epochs) err(`${what}: epoch ${e + 1}/${f.epochs} · loss ${logs.loss.toFixed(4)}`); };
  }
  const bar = new cliProgress.SingleBar({ format: `${what} |{bar}| epoch {value}/{total} · loss {loss}`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic);
  bar.start(f.epochs, 0, { loss: "…" });
  return (e, logs) => {
    bar.update(e + 1, { loss: logs.loss.toFixed(4) });
    if (e + 1 === f.epochs) bar.stop();
  };
}

/**
 * Seconds to train one window for one epoch on this machine, from timing windows of that shape
 * (at most 32 steps long, scaled: the cost grows linearly with the lookback).
 */
async function secondsPerWindow(f: Flags, features: number): Promise<number> {
  const C = 1 + features, L = Math.min(f.lookback, 32), h = f.horizon;
  const time = async (n: number) => {
    const x = new Float32Array(n * L * C).map((_, i) => Math.sin(i)), y = new Float32Array(n * h).map((_, i) => Math.cos(i));
    const model = new Sequential([new LSTM({ inputSize: C, hiddenSize: f.hidden, seed: 1 }), new Linear({ inputSize: f.hidden, outputSize: h, seed: 2 })]);
    const t0 = performance.now();
    try {
      await model.fit({ data: x, shape: [n, L, C] }, { data: y, shape: [n, h] }, { epochs: 1, batchSize: 16, optimizer: new Adam({ lr: 1e-3 }), clipNorm: 1, seed: 1 });
    } finally {
      model.dispose();
    }
    return (performance.now() - t0) / 1000 / n;
  };
  // The first fit of a shape plans its buffers and warms the JIT; then about 0.1 s of windows,
  // three times, keeping the run least disturbed by other work.
  const first = await time(16);
  const n = Math.max(16, Math.min(2048, Math.round(0.1 / first / 16) * 16));
  let best = first;
  for (let k = 0; k < 3; k++) best = Math.min(best, await time(n));
  return (best * f.lookback) / L;
}

/** How long training these windows would take, in words. */
async function estimate(windows: number, f: Flags, features: number): Promise<{ secs: number; text: string }> {
  const secs = (await secondsPerWindow(f, features)) * windows * f.epochs * (features ? 2 : 1);
  return { secs, text: duration(secs) };
}

export function duration(secs: number): string {
  if (secs < 90) return `about ${Math.max(1, Math.round(secs))} s`;
  if (secs < 5400) return `about ${Math.round(secs / 60)} min`;
  if (secs < 48 * 3600) return `about ${(secs / 3600).toFixed(1)} h`;
  return `about ${Math.round(secs / 86400).toLocaleString("en-US")} days`;
}
