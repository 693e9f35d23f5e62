// The forecast tool's parts, in process: the model against the seasonal-naive baseline, the
// transforms, CSV reading, the plot's downsampling and the color rule.
import { describe, it, expect, beforeAll } from "vitest";
import { train, predict, scores, chooseTransform, checkSeries, minPoints, tailLength, type Settings, type Series } from "../src/cli/forecast";
import { detectDelimiter, parseTable, columnIndex, defaultColumn, numericColumn, delimiterFlag } from "../src/cli/csv";
import { CliError, UsageError } from "../src/cli/cli-error";
import { downsample, svgChart, MAX_POINTS } from "../src/cli/plot";
import { useColor, decimalsFor } from "../src/cli/report";
import { modelBytes, loadModel } from "../src/cli/model-file";
import { AIRLINE_PASSENGERS } from "../src/cli/airline";
import { use } from "./helpers/backends";

beforeAll(async () => { await use("simd"); });

const DEFAULTS: Settings = { transform: "log", season: 12, lookback: 12, horizon: 12, hidden: 32, epochs: 200, seed: 1 };
const airline = (): Series => ({ column: "passengers", values: AIRLINE_PASSENGERS.slice(), features: [] });

describe("forecast model", () => {
  it("the built-in airline data is the 144 Box & Jenkins values (sum 40363, 1960 peak 622)", () => {
    expect(AIRLINE_PASSENGERS).toHaveLength(144);
    expect(AIRLINE_PASSENGERS.reduce((a, b) => a + b, 0)).toBe(40363);
    expect(AIRLINE_PASSENGERS.slice(132).reduce((a, b) => Math.max(a, b))).toBe(622);
  });

  it("with the defaults, beats the seasonal-naive RMSE and MAPE on the held-out 1960, deterministically", async () => {
    const a = await train(airline(), DEFAULTS), b = await train(airline(), DEFAULTS);
    const pa = predict(a.model, a.meta, AIRLINE_PASSENGERS, []), pb = predict(b.model, b.meta, AIRLINE_PASSENGERS, []);
    const sm = scores(pa.heldOut.actual, pa.heldOut.model), sn = scores(pa.heldOut.actual, pa.heldOut.baseline);
    expect(sm.rmse).toBeLessThan(sn.rmse);
    expect(sm.mape!).toBeLessThan(sn.mape!);
    expect(pa).toEqual(pb);
    expect(pa.forecast).toHaveLength(12);
    expect(pa.forecast.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    a.model.dispose(); b.model.dispose();
  });

  it("scores the baseline as the last observed season repeated; RMSE, MAE and MAPE as defined (MAPE null at a zero)", async () => {
    const s: Settings = { ...DEFAULTS, epochs: 2, horizon: 18 };
    const r = await train(airline(), s);
    const p = predict(r.model, r.meta, AIRLINE_PASSENGERS, []);
    const last = AIRLINE_PASSENGERS.slice(144 - 18 - 12, 144 - 18);
    expect(p.heldOut.baseline).toEqual(Array.from({ length: 18 }, (_, k) => last[k % 12]));
    expect(p.heldOut.actual).toEqual(AIRLINE_PASSENGERS.slice(126));
    r.model.dispose();
    const sc = scores([2, 4], [1, 5]);
    expect(sc.rmse).toBeCloseTo(1, 12);
    expect(sc.mae).toBeCloseTo(1, 12);
    expect(sc.mape!).toBeCloseTo(37.5, 12);
    expect(scores([0, 4], [1, 5]).mape).toBeNull();
  });

  it("reads only the series' last tailLength() points, so a saved tail forecasts the same", async () => {
    const s: Settings = { ...DEFAULTS, epochs: 3 };
    const r = await train(airline(), s);
    const K = tailLength(s);
    expect(r.meta.tail.target).toEqual(AIRLINE_PASSENGERS.slice(-K));
    expect(predict(r.model, r.meta, r.meta.tail.target, [])).toEqual(predict(r.model, r.meta, AIRLINE_PASSENGERS, []));
    // And through the file: bytes → model + metadata → the same numbers.
    const back = loadModel(modelBytes(r.model, r.meta), "m.safetensors");
    expect(back.meta).toEqual(r.meta);
    expect(predict(back.model, back.meta, AIRLINE_PASSENGERS, [])).toEqual(predict(r.model, r.meta, AIRLINE_PASSENGERS, []));
    r.model.dispose(); back.model.dispose();
  });

  it("works on zero-crossing data with diff and none, and the held-out forecast uses no held-out value", async () => {
    const y = Array.from({ length: 120 }, (_, t) => 2 * Math.sin((2 * Math.PI * t) / 12) - 0.5 + 0.01 * t);
    expect(chooseTransform(y, undefined, "y").transform).toBe("diff");
    for (const transform of ["diff", "none"] as const) {
      const s: Settings = { ...DEFAULTS, transform, epochs: 30 };
      const r = await train({ column: "y", values: y, features: [] }, s);
      const p = predict(r.model, r.meta, y, []);
      expect(p.forecast.concat(p.heldOut.model).every(Number.isFinite)).toBe(true);
      const changed = y.slice();
      for (let t = 108; t < 120; t++) changed[t] += 100; // the held-out points
      expect(predict(r.model, r.meta, changed, []).heldOut.model).toEqual(p.heldOut.model);
      r.model.dispose();
    }
  });

  it("chooses log for positive data, refuses log for other data, constant and short series", () => {
    expect(chooseTransform([1, 2, 3], undefined, "y")).toEqual({ transform: "log", reason: "every value is positive" });
    expect(chooseTransform([1, 0, 3], undefined, "y").transform).toBe("diff");
    expect(chooseTransform([1, 0, 3], "none", "y").transform).toBe("none");
    expect(() => chooseTransform([1, -2, 3], "log", "y")).toThrow(/--transform log needs values > 0.*-2 at point 2/);
    expect(() => checkSeries({ column: "y", values: new Array(100).fill(7), features: [] }, DEFAULTS)).toThrow(/constant/);
    expect(() => checkSeries({ column: "y", values: AIRLINE_PASSENGERS.slice(0, 40), features: [] }, DEFAULTS)).toThrow(/40 points.*at least 55/);
    expect(minPoints(DEFAULTS)).toBe(55);
    expect(minPoints({ ...DEFAULTS, transform: "none" })).toBe(43);
  });
});

describe("CSV reading", () => {
  it("detects the delimiter from the header: comma, semicolon, tab, ignoring quoted ones", () => {
    expect(detectDelimiter("a,b\n1,2")).toBe(",");
    expect(detectDelimiter("a;b\n1,5;2")).toBe(";");
    expect(detectDelimiter("a\tb;c\n")).toBe("\t");
    expect(detectDelimiter('"x;y",b\n')).toBe(",");
    expect(detectDelimiter("\n\nvalue\n1\n")).toBe(",");
    expect(delimiterFlag("tab")).toBe("\t");
    expect(() => delimiterFlag("ab")).toThrow(UsageError);
  });

  it("reads decimal commas in ;-separated files, names a header-less file's columns 1, 2, …", () => {
    const t = parseTable("\ufeffmonth;value\r\n2020-01;1,5\r\n2020-02;-2,25\r\n", "f.csv");
    expect(t.names).toEqual(["month", "value"]);
    expect(numericColumn(t, columnIndex(t, "value", "--column", "f.csv"), "f.csv")).toEqual([1.5, -2.25]);
    const bare = parseTable("1\t10\n2\t20\n", "g.tsv");
    expect(bare.header).toBe(false);
    expect(bare.names).toEqual(["1", "2"]);
    expect(numericColumn(bare, columnIndex(bare, "2", "--column", "g.tsv"), "g.tsv")).toEqual([10, 20]);
  });

  it("finds columns by name (then case-insensitively) or position; defaults to the last numeric one", () => {
    const t = parseTable("month,promo,Sales,note\n1,1,10,x\n2,0,12.5,y\n3,1,11,z\n", "f.csv");
    expect(columnIndex(t, "sales", "--column", "f.csv")).toBe(2);
    expect(columnIndex(t, "2", "--features", "f.csv")).toBe(1);
    expect(defaultColumn(t, [], "f.csv")).toBe(2);
    expect(defaultColumn(t, [2], "f.csv")).toBe(1);
    expect(() => columnIndex(t, "nope", "--column", "f.csv")).toThrow(/--column "nope": f.csv has no such column \(its columns: "month", "promo", "Sales", "note"\)/);
  });

  it("names the line and column of a missing or non-numeric cell", () => {
    const t = parseTable("a,b\n1,2\n\n3,NaN\n4,\n", "f.csv");
    expect(() => numericColumn(t, 1, "f.csv")).toThrow(/f.csv line 4, column "b": expected a finite number, found "NaN"/);
    const u = parseTable("a,b\n1,2\n4,\n", "f.csv");
    expect(() => numericColumn(u, 1, "f.csv")).toThrow(/line 3, column "b".*an empty cell/);
    expect(() => parseTable("a,b\n1,2,3\n", "f.csv")).toThrow(/f.csv line 2: 3 fields, but the first row has 2/);
    // Spreadsheet leftovers: trailing delimiters, rows of empty cells, short rows.
    const s = parseTable("a,b,\n1,2,\n,,\n3\n   \n5,6\n", "s.csv");
    expect(s.names).toEqual(["a", "b", "3"]);
    expect(numericColumn(s, 0, "s.csv")).toEqual([1, 3, 5]);
    expect(() => numericColumn(s, 1, "s.csv")).toThrow(/s.csv line 4, column "b".*an empty cell/);
    expect(() => parseTable('a,b\n"1,2\n', "q.csv")).toThrow(CliError);
    expect(() => parseTable("", "f.csv")).toThrow(/no rows/);
  });
});

describe("plot and report", () => {
  it("downsamples a long line to at most MAX_POINTS indices, keeping the ends and the extremes", () => {
    const n = 300_000, v = Array.from({ length: n }, (_, i) => Math.sin(i / 500));
    v[123_457] = 50; v[222_222] = -50;
    const idx = downsample(v);
    expect(idx.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(n - 1);
    expect(idx).toContain(123_457);
    expect(idx).toContain(222_222);
    expect(idx.every((x, k) => k === 0 || x > idx[k - 1])).toBe(true);
    expect(downsample([1, 2, 3])).toEqual([0, 1, 2]);
  });

  it("draws a 300,000-point chart without spreading arrays, with bounded polylines and at most 14 x ticks", () => {
    const n = 300_000, v = Array.from({ length: n }, (_, i) => i % 97);
    const svg = svgChart("big", [{ label: "history", color: "#444", x0: 0, values: v }], (i) => (i % 12 === 0 ? String(i) : null));
    const pts = svg.match(/points="([^"]*)"/)![1].split(" ");
    expect(pts.length).toBeLessThanOrEqual(MAX_POINTS);
    expect((svg.match(/text-anchor="middle"/g) ?? []).length).toBeLessThanOrEqual(14);
  });

  it("colors only for a terminal, never under NO_COLOR, always under FORCE_COLOR (as Node decides)", () => {
    expect(useColor({}, true)).toBe(true);
    expect(useColor({}, false)).toBe(false);
    expect(useColor({ NO_COLOR: "1" }, true)).toBe(false);
    expect(useColor({ NO_COLOR: "" }, true)).toBe(true); // no-color.org: only a non-empty value counts
    expect(useColor({ FORCE_COLOR: "1" }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: "0" }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: "1", NO_COLOR: "1" }, false)).toBe(true);
    expect(decimalsFor([622, 400])).toBe(0);
    expect(decimalsFor([-0.5, 0.2])).toBe(3);
  });
});
