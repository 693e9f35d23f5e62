// The forecasting tool: its model against the seasonal-naive baseline on the built-in data, its CSV
// reading, and the command line end to end (files written and readable, errors reported).
import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Sequential, LSTMError } from "../src/index";
import { forecastSeries, scores } from "../src/cli/forecast";
import { readColumn } from "../src/cli/main-lib";
import { AIRLINE_PASSENGERS } from "../src/cli/airline";
import { use } from "./helpers/backends";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

beforeAll(async () => { await use("simd"); });

describe("forecastSeries", () => {
  it("the built-in airline data is the 144 Box & Jenkins values (sum 40363, 1960 peak 622)", () => {
    expect(AIRLINE_PASSENGERS).toHaveLength(144);
    expect(AIRLINE_PASSENGERS.reduce((a, b) => a + b, 0)).toBe(40363);
    expect(Math.max(...AIRLINE_PASSENGERS.slice(132))).toBe(622);
  });

  it("with the defaults, beats the seasonal-naive RMSE and MAPE on the held-out 1960, deterministically", async () => {
    const a = await forecastSeries(AIRLINE_PASSENGERS, { epochs: 200 });
    const b = await forecastSeries(AIRLINE_PASSENGERS, { epochs: 200 });
    expect(a.scores.model.rmse).toBeLessThan(a.scores.naive.rmse);
    expect(a.scores.model.mape).toBeLessThan(a.scores.naive.mape);
    expect(a.holdout.model).toEqual(b.holdout.model);
    expect(a.future).toEqual(b.future);
    expect(a.future).toHaveLength(12);
    expect(a.future.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    a.model.dispose(); b.model.dispose();
  });

  it("scores the baseline as the last observed season repeated, with RMSE and MAPE as defined", async () => {
    const r = await forecastSeries(AIRLINE_PASSENGERS, { epochs: 2, horizon: 18 });
    const last = AIRLINE_PASSENGERS.slice(144 - 18 - 12, 144 - 18);
    expect(r.holdout.naive).toEqual(Array.from({ length: 18 }, (_, k) => last[k % 12]));
    const s = scores([2, 4], [1, 5]);
    expect(s.rmse).toBeCloseTo(1, 12);
    expect(s.mape).toBeCloseTo(37.5, 12);
    r.model.dispose();
  });

  it("refuses short, non-positive or non-finite series with an LSTMError", async () => {
    await expect(forecastSeries([1, 2, 3])).rejects.toBeInstanceOf(LSTMError);
    await expect(forecastSeries([...AIRLINE_PASSENGERS.slice(0, 60), -1, ...AIRLINE_PASSENGERS.slice(61)])).rejects.toThrow(/series\[60\]/);
    await expect(forecastSeries(AIRLINE_PASSENGERS, { lookback: 0 })).rejects.toThrow(/--lookback/);
  });
});

describe("readColumn", () => {
  const csv = "month,promo,sales\n2020-01,1,10\n2020-02,0,12.5\n2020-03,1,11\n";
  it("reads a named column, or by default the last all-numeric one", () => {
    expect(readColumn(csv, "promo")).toEqual({ values: [1, 0, 1], name: "promo" });
    expect(readColumn(csv)).toEqual({ values: [10, 12.5, 11], name: "sales" });
  });
  it("names the column, row and value it cannot use", () => {
    expect(() => readColumn(csv, "nope")).toThrow(/--column/);
    expect(() => readColumn("a,b\n1,x\n", "b")).toThrow(/row 2, column b/);
    expect(() => readColumn("a\n")).toThrow(LSTMError);
  });
});

describe("lstm-wasm forecast (dist/cli.js)", () => {
  it("runs on a CSV, reports both scores, and writes a loadable model and an SVG plot", () => {
    const dir = mkdtempSync(join(tmpdir(), "lstm-wasm-cli-"));
    const rows = AIRLINE_PASSENGERS.map((v, i) => `${1949 + Math.floor(i / 12)}-${(i % 12) + 1},${v}`);
    writeFileSync(join(dir, "air.csv"), ["month,passengers", ...rows].join("\n"));
    const out = execFileSync(process.execPath, [cli, "forecast", join(dir, "air.csv"), "--column", "passengers", "--epochs", "30", "--out", dir], { encoding: "utf8" });
    expect(out).toMatch(/LSTM\s+\d+\.\d+\s+\d+\.\d+%/);
    expect(out).toMatch(/seasonal naive\s+50\.71\s+9\.99%/); // the 1960 baseline is fixed by the data
    expect(out).toMatch(/forecast of the next 12: (\d+ ){11}\d+/);
    const svg = readFileSync(join(dir, "forecast.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(5);
    const model = Sequential.load(readFileSync(join(dir, "model.safetensors")));
    expect(model.lstm.config.hiddenSize).toBe(32);
    model.dispose();
  });

  it("exits non-zero with a one-line error naming the bad option", () => {
    const r = spawnSync(process.execPath, [cli, "forecast", "--horizon", "0"], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--horizon/);
    const dir = mkdtempSync(join(tmpdir(), "lstm-wasm-cli-"));
    writeFileSync(join(dir, "x.csv"), "a,b\n1,2\n");
    const r2 = spawnSync(process.execPath, [cli, "forecast", join(dir, "x.csv"), "--column", "zzz", "--out", dir], { encoding: "utf8" });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/^error: --column/m);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false);
  });
});
