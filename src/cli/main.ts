// `lstm-wasm forecast [file.csv]`: train an LSTM on a univariate series (the airline passengers by
// default), score it on the last --horizon points against the seasonal-naive baseline, and forecast
// past the end. Node-only; bundled into dist/cli.js with its dependencies.
import { Command } from "commander";
import cliProgress from "cli-progress";
import asciichart from "asciichart";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { init } from "../wasm/backend";
import { LSTMError } from "../errors";
import { forecastSeries } from "./forecast";
import { readColumn } from "./main-lib";
import { svgChart } from "./plot";
import { AIRLINE_PASSENGERS, AIRLINE_START } from "./airline";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new LSTMError(`--${name}`, "a positive integer", JSON.stringify(v));
  return n;
};

async function forecastCommand(file: string | undefined, o: Record<string, any>): Promise<void> {
  const { backend } = await init(o.backend ? { backend: o.backend } : {});
  const src = file ? readColumn(readFileSync(file, "utf8"), o.column) : { values: [...AIRLINE_PASSENGERS], name: "passengers (thousands)" };
  const where = file ? `${file}, column ${src.name}` : "built-in: monthly international airline passengers 1949–1960 (Box & Jenkins, Series G)";
  const h: number = o.horizon;
  console.log(`lstm-wasm forecast · ${where} · ${src.values.length} points · backend ${backend}`);
  console.log(`holding out the last ${h} points; LSTM hidden ${o.hidden}, lookback ${o.lookback}, ${o.epochs} epochs, seed ${o.seed}\n`);

  const bar = new cliProgress.SingleBar({ format: "training |{bar}| epoch {value}/{total} · loss {loss}", hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic);
  bar.start(o.epochs, 0, { loss: "…" });
  const t0 = performance.now();
  const r = await forecastSeries(src.values, {
    horizon: h, season: o.season, lookback: o.lookback, hidden: o.hidden, epochs: o.epochs, seed: o.seed,
    onEpochEnd: (e, logs) => {
      bar.update(e + 1, { loss: logs.loss.toFixed(4) });
      // Without a terminal the bar stays silent; keep a log of the loss instead.
      if (!process.stderr.isTTY && ((e + 1) % 25 === 0 || e === 0)) console.log(`epoch ${e + 1}/${o.epochs} · loss ${logs.loss.toFixed(4)}`);
    },
  });
  bar.stop();
  const secs = ((performance.now() - t0) / 1000).toFixed(1);

  const { model: sm, naive: sn } = r.scores;
  console.log(`\ntrained in ${secs} s. On the ${h} held-out points:`);
  console.log(`  ${"".padEnd(22)} ${"RMSE".padStart(9)} ${"MAPE".padStart(8)}`);
  console.log(`  ${"LSTM".padEnd(22)} ${sm.rmse.toFixed(2).padStart(9)} ${(sm.mape.toFixed(2) + "%").padStart(8)}`);
  console.log(`  ${"seasonal naive".padEnd(22)} ${sn.rmse.toFixed(2).padStart(9)} ${(sn.mape.toFixed(2) + "%").padStart(8)}`);
  console.log(sm.rmse < sn.rmse
    ? `  → the LSTM beats the seasonal-naive baseline: RMSE ${(100 * (1 - sm.rmse / sn.rmse)).toFixed(0)}% lower.`
    : `  → the seasonal-naive baseline wins here (its RMSE is ${(100 * (1 - sn.rmse / sm.rmse)).toFixed(0)}% lower); the LSTM did not beat it.`);

  // asciichart draws no gaps, so the lines share the history and overdraw in order: the future,
  // then the LSTM's holdout forecast, then the actual values on top.
  const n = src.values.length, shown = Math.min(n - h, 3 * o.season);
  const actual = src.values.slice(n - h - shown);
  const past = actual.slice(0, shown);
  console.log(`\nlast ${shown} points and the holdout (actual), ${asciichart.colored("LSTM on the holdout", asciichart.yellow)}, ${asciichart.colored(`forecast of the next ${h}`, asciichart.magenta)}:\n`);
  console.log(asciichart.plot([[...actual, ...r.future], [...past, ...r.holdout.model], actual],
    { height: 14, colors: [asciichart.magenta, asciichart.yellow, asciichart.default] }));
  console.log(`\nforecast of the next ${h}: ${r.future.map((v) => v.toFixed(0)).join(" ")}`);

  const outDir = resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  const label = file ? (i: number) => (i % o.season === 0 ? String(i) : null)
    : (i: number) => ((i + AIRLINE_START.month - 1) % 12 === 0 ? String(AIRLINE_START.year + Math.floor(i / 12)) : null);
  const svg = svgChart(`LSTM forecast — ${file ? src.name : "airline passengers (thousands)"}`, [
    { label: "history", color: "#444", x0: 0, values: src.values.slice(0, n - h + 1) },
    { label: "holdout (actual)", color: "#2a9d4b", x0: n - h - 1, values: src.values.slice(n - h - 1) },
    { label: "LSTM on the holdout", color: "#e08a00", x0: n - h - 1, values: [src.values[n - h - 1], ...r.holdout.model] },
    { label: "seasonal naive", color: "#999", x0: n - h, values: r.holdout.naive, dashed: true },
    { label: `forecast (next ${h})`, color: "#b0309a", x0: n - 1, values: [src.values[n - 1], ...r.future] },
  ], label);
  writeFileSync(join(outDir, "forecast.svg"), svg);
  writeFileSync(join(outDir, "model.safetensors"), r.model.save());
  console.log(`wrote ${join(outDir, "forecast.svg")} and ${join(outDir, "model.safetensors")}`);
  r.model.dispose();
}

const program = new Command();
program.name("lstm-wasm").description("LSTM in WebAssembly: tools");
program.command("forecast")
  .description("train on a univariate series and forecast the next --horizon points (built-in airline data when no file is given)")
  .argument("[file]", "a CSV file with a header row")
  .option("--column <name>", "the CSV column to forecast (default: the last numeric one)")
  .option("--horizon <n>", "points to hold out and to forecast", int("horizon"), 12)
  .option("--season <n>", "season length for the naive baseline and differencing", int("season"), 12)
  .option("--lookback <n>", "months of growth the LSTM sees", int("lookback"), 12)
  .option("--hidden <n>", "LSTM hidden size", int("hidden"), 32)
  .option("--epochs <n>", "training epochs", int("epochs"), 200)
  .option("--seed <n>", "seed for initialisation and shuffling", int("seed"), 1)
  .option("--backend <name>", "relaxed-simd, simd or scalar (default: the best available)")
  .option("--out <dir>", "where to write forecast.svg and model.safetensors", ".")
  .action(forecastCommand);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof LSTMError ? `error: ${err.message}` : err);
  process.exitCode = 1;
});
