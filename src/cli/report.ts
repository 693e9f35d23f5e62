// What the forecast tool prints: the human report (stdout, colored only on a terminal), the --json
// object, and forecast.csv. Progress and warnings go to stderr elsewhere.
import asciichart from "asciichart";
import type { ForecastMeta, Prediction, Scores } from "./forecast";
import { describeTransform } from "./forecast";
import { count } from "./cli-error";

export interface Outcome {
  source: string;
  rows: number;
  backend: string;
  meta: ForecastMeta;
  transformReason: string;
  recent: number[]; // the series' last points, for the terminal chart
  prediction: Prediction;
  scores: { model: Scores; baseline: Scores };
  univariate: { forecast: number[]; scores: Scores } | null; // the same LSTM without --features
  training: { seconds: number; finalLoss: number } | null;     // null with --model
  modelFile: string | null;                                   // --model's file, when given
  files: { model?: string; forecastCsv?: string; svg?: string };
}

/**
 * ANSI colors or not, as Node decides them: FORCE_COLOR (other than 0/false) forces them, a
 * non-empty NO_COLOR (https://no-color.org) or a stdout that is not a terminal turns them off.
 */
export function useColor(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !["0", "false"].includes(force.toLowerCase());
  if (env.NO_COLOR) return false;
  return isTTY && env.TERM !== "dumb";
}

/** Decimals that show a series of this magnitude to about three significant digits. */
export function decimalsFor(values: readonly number[]): number {
  let max = 0;
  for (const v of values) if (Math.abs(v) > max) max = Math.abs(v);
  return max > 0 ? Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(max)))) : 2;
}

const pct = (a: number, b: number) => (100 * (1 - a / b)).toFixed(0);

/** What the report's first lines need: known before training, so printed before it. */
export type Heading = Pick<Outcome, "source" | "rows" | "backend" | "transformReason" | "modelFile"> &
  { meta: Pick<ForecastMeta, "column" | "features" | "transform" | "season" | "lookback" | "horizon" | "hidden" | "epochs" | "seed"> };

export function textHeading(o: Heading): string {
  const m = o.meta, out: string[] = [];
  out.push(`lstm-wasm forecast · ${o.source}, column ${m.column} · ${o.rows} points · backend ${o.backend}`);
  out.push(`transform: ${describeTransform(m.transform, m.season)}; ${o.transformReason}`);
  if (m.features.length) out.push(`features: ${m.features.join(", ")} (their values up to the step before each forecast)`);
  out.push(o.modelFile
    ? `model: ${o.modelFile} (hidden ${m.hidden}, lookback ${m.lookback}, trained ${count(m.epochs, "epoch")}, seed ${m.seed}); no training`
    : `holding out the last ${m.horizon} points; LSTM hidden ${m.hidden}, lookback ${m.lookback}, ${count(m.epochs, "epoch")}, seed ${m.seed}`);
  return out.join("\n") + "\n";
}

/** The report after the heading: scores, verdicts, the terminal chart, the forecast, the files. */
export function textReport(o: Outcome, color: boolean): string {
  const m = o.meta, h = m.horizon, p = o.prediction;
  const paint = (s: string, c: string) => (color ? asciichart.colored(s, c) : s);
  const dec = decimalsFor(p.heldOut.actual.concat(p.forecast)), md = Math.min(6, dec + 2);
  const out: string[] = [];
  out.push(o.training ? `trained in ${o.training.seconds.toFixed(1)} s. On the ${h} held-out points:` : `On the last ${h} points of the data:`);
  const row = (name: string, s: Scores) =>
    `  ${name.padEnd(22)} ${s.rmse.toFixed(md).padStart(10)} ${s.mae.toFixed(md).padStart(10)} ${(s.mape === null ? "n/a" : s.mape.toFixed(2) + "%").padStart(9)}`;
  out.push(`  ${"".padEnd(22)} ${"RMSE".padStart(10)} ${"MAE".padStart(10)} ${"MAPE".padStart(9)}`);
  out.push(row("LSTM", o.scores.model));
  out.push(row("seasonal naive", o.scores.baseline));
  if (o.univariate) out.push(row("LSTM without features", o.univariate.scores));
  const sm = o.scores.model.rmse, sn = o.scores.baseline.rmse;
  out.push(sm < sn
    ? `  → the LSTM beats the seasonal-naive baseline: RMSE ${pct(sm, sn)}% lower.`
    : `  → the seasonal-naive baseline wins here (its RMSE is ${pct(sn, sm)}% lower); the LSTM did not beat it.`);
  if (o.univariate) {
    const su = o.univariate.scores.rmse;
    out.push(sm < su
      ? `  → the features helped: RMSE ${pct(sm, su)}% lower than the same LSTM without them.`
      : `  → the features did not help: the LSTM without them has ${sm === su ? "the same" : `a ${pct(su, sm)}% lower`} RMSE.`);
  }
  const chart = terminalChart(o, paint, color);
  if (chart) out.push("", chart);
  out.push("", `forecast of the next ${h}: ${p.forecast.map((v) => v.toFixed(dec)).join(" ")}`);
  const files = [o.files.model, o.files.forecastCsv, o.files.svg].filter(Boolean);
  if (files.length) out.push(`wrote ${files.join(", ")}`);
  return out.join("\n");
}

// asciichart draws no gaps, so the lines share the history and overdraw in order: the future, then
// the LSTM's holdout forecast, then the actual values on top. Skipped when it would not fit a terminal.
function terminalChart(o: Outcome, paint: (s: string, c: string) => string, color: boolean): string | null {
  const h = o.meta.horizon, p = o.prediction, tail = o.recent;
  const shown = Math.min(tail.length - h, Math.max(24, Math.min(60, 3 * o.meta.season)));
  if (shown + 2 * h > 120 || !p.forecast.concat(p.heldOut.model).every(Number.isFinite)) return null;
  const actual = tail.slice(tail.length - h - shown), past = actual.slice(0, shown);
  const title = `last ${shown} points and the held-out ${h} (actual), ${paint("LSTM on them", asciichart.yellow)}, ${paint(`forecast of the next ${h}`, asciichart.magenta)}:`;
  const dec = decimalsFor(actual);
  const plot = asciichart.plot([actual.concat(p.forecast), past.concat(p.heldOut.model), actual], {
    height: 14, format: (x: number) => x.toFixed(dec).padStart(10),
    ...(color ? { colors: [asciichart.magenta, asciichart.yellow, asciichart.default] } : {}),
  });
  return `${title}\n\n${plot}`;
}

/** The --json object: one per run, on stdout alone. */
export function jsonReport(o: Outcome): object {
  const m = o.meta, p = o.prediction;
  const scored = (s: Scores, forecast: number[]) => ({ rmse: s.rmse, mae: s.mae, mape: s.mape, forecast });
  return {
    forecast: p.forecast,
    heldOut: {
      points: m.horizon,
      actual: p.heldOut.actual,
      model: scored(o.scores.model, p.heldOut.model),
      baseline: { method: "seasonal naive", ...scored(o.scores.baseline, p.heldOut.baseline) },
      modelBeatsBaseline: o.scores.model.rmse < o.scores.baseline.rmse,
      univariate: o.univariate ? scored(o.univariate.scores, o.univariate.forecast) : null,
      featuresHelped: o.univariate ? o.scores.model.rmse < o.univariate.scores.rmse : null,
    },
    config: {
      column: m.column, features: m.features, transform: m.transform, transformReason: o.transformReason,
      season: m.season, lookback: m.lookback, horizon: m.horizon, hidden: m.hidden, epochs: m.epochs, seed: m.seed, backend: o.backend,
    },
    data: { source: o.source, rows: o.rows },
    training: o.training,
    model: o.modelFile ?? o.files.model ?? null,
    files: o.files,
  };
}

/** forecast.csv: one row per future step. */
export function forecastCsv(o: Outcome): string {
  const name = o.meta.column.includes(",") || o.meta.column.includes('"') ? `"${o.meta.column.replace(/"/g, '""')}"` : o.meta.column;
  return [`step,${name}`].concat(o.prediction.forecast.map((v, k) => `${k + 1},${v}`)).join("\n") + "\n";
}
