// `lstm-wasm forecast` end to end: dist/cli.js run as a child process, as people script it. Files
// written and readable, --json, --model round trips, delimiters, colors, exit codes, one-line
// errors that leave no output behind, and a 250,000-row CSV.
import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Sequential, LSTM, Linear, readSafetensorsWithMetadata } from "../src/index";
import { use } from "./helpers/backends";
import { AIRLINE_PASSENGERS } from "../src/cli/airline";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !["FORCE_COLOR", "NO_COLOR", "NODE_OPTIONS"].includes(k)));

interface Run { status: number | null; stdout: string; stderr: string }
function run(args: string[], opts: { env?: Record<string, string>; input?: string; uid?: number } = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8", env: { ...baseEnv, ...opts.env }, input: opts.input, timeout: 120_000,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** One line on stderr starting with error:, no stack trace, nothing on stdout. */
function expectError(r: Run, status: number, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(status);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at |options\.|LSTMError/);
  expect(r.stdout).toBe("");
}
const json = (r: Run) => { expect(r.status, r.stderr).toBe(0); return JSON.parse(r.stdout); };

let dir: string;
const at = (name: string) => join(dir, name);
const fresh = () => mkdtempSync(join(dir, "out-"));
const FAST = ["--epochs", "15", "-q"];

beforeAll(async () => {
  await use("simd");
  dir = mkdtempSync(join(tmpdir(), "lstm-wasm-cli-"));
  const months = AIRLINE_PASSENGERS.map((_, i) => `${1949 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`);
  writeFileSync(at("air.csv"), ["month,passengers", ...AIRLINE_PASSENGERS.map((v, i) => `${months[i]},${v}`)].join("\n") + "\n");
  writeFileSync(at("air-semi.csv"), ["month;passengers", ...AIRLINE_PASSENGERS.map((v, i) => `${months[i]};${v},0`)].join("\r\n"));
  writeFileSync(at("air.tsv"), ["month\tpassengers", ...AIRLINE_PASSENGERS.map((v, i) => `${months[i]}\t${v}`)].join("\n"));
  // Net flows: seasonal, crossing zero, negative on average.
  let s = 7;
  const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5);
  const flows = Array.from({ length: 156 }, (_, t) => (-3 + 0.02 * t + 4 * Math.sin((2 * Math.PI * t) / 12) + 0.3 * noise()).toFixed(3));
  writeFileSync(at("flows.csv"), ["period,net_flow", ...flows.map((v, t) => `p${t},${v}`)].join("\n"));
  // y follows last step's x: a covariate that helps one step ahead.
  const x = Array.from({ length: 200 }, () => 2 * noise());
  const y = x.map((_, t) => 5 + (t > 0 ? 3 * x[t - 1] : 0) + 0.05 * noise());
  writeFileSync(at("lead.csv"), ["t,price,other,demand", ...y.map((v, t) => `${t},${x[t].toFixed(5)},${noise().toFixed(5)},${v.toFixed(5)}`)].join("\n"));
});

describe("lstm-wasm forecast: runs and outputs", () => {
  it("runs on a CSV, reports both scores and the transform, and writes a loadable model, forecast.csv and an SVG plot", () => {
    const out = fresh();
    const r = run(["forecast", at("air.csv"), "--column", "passengers", "--epochs", "30", "--out", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/transform: log growth over 12 steps.*every value is positive/);
    expect(r.stdout).toMatch(/LSTM\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+%/);
    expect(r.stdout).toMatch(/seasonal naive\s+50\.71\s+47\.83\s+9\.99%/); // the 1960 baseline is fixed by the data
    const printed = r.stdout.match(/forecast of the next 12: ((?:\d+ ){11}\d+)/)![1].split(" ").map(Number);
    const csv = readFileSync(join(out, "forecast.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("step,passengers");
    expect(csv.slice(1).map((l) => Math.round(Number(l.split(",")[1])))).toEqual(printed);
    expect(r.stderr).toMatch(/training: epoch 30\/30/); // progress goes to stderr
    const svg = readFileSync(join(out, "forecast.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect((svg.match(/<polyline/g) ?? []).length).toBe(5);
    expect(svg).toContain(">1955-01<"); // the month column labels the x axis
    const model = Sequential.load(readFileSync(join(out, "model.safetensors")));
    expect((model.layers[0] as LSTM).config.hiddenSize).toBe(32);
    expect((model.layers[1] as Linear).config.outputSize).toBe(12);
    model.dispose();
  });

  it("--version and -V print the package version; --help shows flags and examples", () => {
    for (const args of [["--version"], ["-V"], ["forecast", "--version"], ["forecast", "-V"]]) {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
    const h = run(["forecast", "--help"]);
    expect(h.status).toBe(0);
    for (const flag of ["--features", "--transform", "--json", "--model", "--delimiter", "--tail", "--max-rows", "--out", "Examples:"]) expect(h.stdout).toContain(flag);
  });

  it("--json prints one JSON object on stdout, nothing else there, with forecast, heldOut and config", () => {
    const out = fresh();
    const r = run(["forecast", at("air.csv"), "--epochs", "20", "--seed", "0", "--json", "--out", out]);
    const o = json(r);
    expect(r.stdout.trim().startsWith("{") && r.stdout.trim().endsWith("}")).toBe(true);
    expect(r.stderr).toMatch(/epoch 20\/20/);
    expect(o.forecast).toHaveLength(12);
    expect(o.forecast.every((v: unknown) => typeof v === "number" && Number.isFinite(v))).toBe(true);
    for (const k of ["model", "baseline"]) for (const m of ["rmse", "mae", "mape"]) expect(typeof o.heldOut[k][m]).toBe("number");
    expect(o.heldOut.baseline.rmse).toBeCloseTo(50.71, 2);
    expect(o.heldOut.modelBeatsBaseline).toBe(o.heldOut.model.rmse < o.heldOut.baseline.rmse);
    expect(o.config).toMatchObject({ column: "passengers", features: [], transform: "log", season: 12, lookback: 12, horizon: 12, hidden: 32, epochs: 20, seed: 0 });
    expect(o.files.forecastCsv).toBe(join(out, "forecast.csv"));
    const csv = readFileSync(join(out, "forecast.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[1]));
    expect(csv).toEqual(o.forecast);
  });

  it("forecasts a negative, zero-crossing series with differences, and says so; --transform overrides", () => {
    const o = json(run(["forecast", at("flows.csv"), "--json", "--epochs", "60", "-q", "--out", fresh()]));
    expect(o.config.transform).toBe("diff");
    expect(o.config.transformReason).toMatch(/values <= 0/);
    expect(o.forecast.every(Number.isFinite)).toBe(true);
    expect(o.heldOut.model.rmse).toBeLessThan(o.heldOut.baseline.rmse); // a trend the last season misses
    const text = run(["forecast", at("flows.csv"), ...FAST, "--out", fresh()]);
    expect(text.stdout).toMatch(/transform: differences over 12 steps.*values <= 0/);
    expect(json(run(["forecast", at("flows.csv"), "--transform", "none", "--json", ...FAST, "--out", fresh()])).config.transform).toBe("none");
    expectError(run(["forecast", at("flows.csv"), "--transform", "log", ...FAST, "--out", fresh()]), 1, /--transform log needs values > 0/);
  });

  it("reads ; (with decimal commas), tab and comma files, CRLF and standard input alike: the same forecast", () => {
    const args = ["--epochs", "10", "--json", "-q"];
    const ref = json(run(["forecast", at("air.csv"), ...args, "--out", fresh()])).forecast;
    expect(json(run(["forecast", at("air-semi.csv"), ...args, "--out", fresh()])).forecast).toEqual(ref);
    expect(json(run(["forecast", at("air.tsv"), ...args, "--out", fresh()])).forecast).toEqual(ref);
    expect(json(run(["forecast", "-", ...args, "--out", fresh()], { input: readFileSync(at("air.csv"), "utf8") })).forecast).toEqual(ref);
    // A forced delimiter that does not fit is an error, not a guess.
    expectError(run(["forecast", at("air-semi.csv"), "--delimiter", ",", ...args, "--out", fresh()]), 1, /air-semi\.csv/);
  });

  it("--features adds past covariate values, trains the univariate model too and reports whether they helped", () => {
    const out = fresh();
    const o = json(run(["forecast", at("lead.csv"), "--column", "demand", "--features", "price", "--horizon", "1", "--season", "1", "--epochs", "40", "--json", "-q", "--out", out]));
    expect(o.config.features).toEqual(["price"]);
    expect(o.heldOut.univariate.rmse).toBeGreaterThan(0);
    expect(o.heldOut.featuresHelped).toBe(o.heldOut.model.rmse < o.heldOut.univariate.rmse);
    expect(o.heldOut.featuresHelped).toBe(true); // demand follows last step's price
    const model = Sequential.load(readFileSync(join(out, "model.safetensors")));
    expect((model.layers[0] as LSTM).config.inputSize).toBe(2);
    model.dispose();
    const text = run(["forecast", at("lead.csv"), "--column", "demand", "--features", "price,other", ...FAST, "--out", fresh()]);
    expect(text.stdout).toMatch(/features: price, other/);
    expect(text.stdout).toMatch(/LSTM without features/);
    expect(text.stdout).toMatch(/the features (helped|did not help)/);
  });

  it("uses only past covariate values: changing them over the held-out points leaves the held-out forecast unchanged", () => {
    const out = fresh();
    const args = ["--column", "demand", "--features", "price", "--horizon", "6", "--season", "1", "--json", "-q"];
    const a = json(run(["forecast", at("lead.csv"), ...args, "--epochs", "5", "--out", out]));
    const rows = readFileSync(at("lead.csv"), "utf8").trim().split("\n");
    const changed = rows.map((l, i) => (i > rows.length - 7 ? l.replace(/^(\d+),[^,]+,/, "$1,99,") : l));
    writeFileSync(at("lead-changed.csv"), changed.join("\n"));
    const b = json(run(["forecast", "--model", join(out, "model.safetensors"), at("lead-changed.csv"), "--json", "-q", "--out", fresh()]));
    expect(b.heldOut.model.forecast).toEqual(a.heldOut.model.forecast);
    expect(b.forecast).not.toEqual(a.forecast); // the forecast past the end does see them
  });
});

describe("lstm-wasm forecast --model", () => {
  it("forecasts with a saved model, without training, exactly as the run that saved it (with and without the data)", () => {
    const out = fresh();
    const a = json(run(["forecast", at("lead.csv"), "--column", "demand", "--features", "price,other", "--transform", "diff", "--epochs", "10", "--lookback", "8", "--seed", "3", "--json", "-q", "--out", out]));
    const file = join(out, "model.safetensors");
    const b = json(run(["forecast", "--model", file, at("lead.csv"), "--json", "--out", fresh()]));
    expect(b.forecast).toEqual(a.forecast);
    expect(b.heldOut.model).toEqual(a.heldOut.model);
    expect(b.heldOut.baseline).toEqual(a.heldOut.baseline);
    expect(b.config).toMatchObject({ ...a.config, transformReason: expect.any(String) });
    expect(b.training).toBeNull();
    const c = json(run(["forecast", "--model", file, "--json", "--out", fresh()])); // the tail stored in the file
    expect(c.forecast).toEqual(a.forecast);
    expect(c.heldOut.model.forecast).toEqual(a.heldOut.model.forecast);
    // The documented metadata key, beside Sequential.save()'s own.
    const { metadata } = readSafetensorsWithMetadata(readFileSync(file));
    const meta = JSON.parse(metadata.forecast);
    expect(meta).toMatchObject({ version: 1, column: "demand", features: ["price", "other"], transform: "diff", season: 12, lookback: 8, horizon: 12, hidden: 32, epochs: 10, seed: 3, rows: 200 });
    expect(Object.keys(meta).sort()).toEqual(["column", "covariates", "epochs", "features", "hidden", "horizon", "lookback", "rows", "season", "seed", "tail", "target", "transform", "version"]);
  });

  it("refuses a model for another column or feature set, training flags, and files that are not forecast models", () => {
    const out = fresh();
    json(run(["forecast", at("air.csv"), "--epochs", "2", "--json", "-q", "--out", out]));
    const file = join(out, "model.safetensors"), none = join(dir, "no-output"), out2 = fresh();
    json(run(["forecast", at("lead.csv"), "--column", "demand", "--features", "price", "--epochs", "2", "--json", "-q", "--out", out2]));
    const featured = join(out2, "model.safetensors");
    expectError(run(["forecast", "--model", featured, at("lead.csv"), "--features", "price,other", "--out", none]), 1, /trained with features price, not --features price,other/);
    expectError(run(["forecast", "--model", featured, at("lead.csv"), "--features", "other", "--out", none]), 1, /trained with features price/);
    expectError(run(["forecast", "--model", file, at("flows.csv"), "--out", none]), 1, /flows\.csv has no column "passengers", which --model .* forecasts \(its columns: "period", "net_flow"\)/);
    expectError(run(["forecast", "--model", featured, at("air.csv"), "--out", none]), 1, /air\.csv has no column "demand", which --model .* forecasts/);
    expectError(run(["forecast", "--model", file, at("air.csv"), "--column", "month", "--out", none]), 1, /forecasts column "passengers", not --column "month"/);
    expectError(run(["forecast", "--model", file, at("lead.csv"), "--features", "price", "--out", none]), 1, /trained with no features/);
    expectError(run(["forecast", "--model", file, "--epochs", "5", "--out", none]), 2, /--epochs cannot be used with --model/);
    expectError(run(["forecast", "--model", at("air.csv"), "--out", none]), 1, /--model .*air\.csv: not a safetensors file/);
    const plain = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 4, seed: 1 }), new Linear({ inputSize: 4, outputSize: 12, seed: 2 })]);
    writeFileSync(at("plain.safetensors"), plain.save());
    plain.dispose();
    expectError(run(["forecast", "--model", at("plain.safetensors"), "--out", none]), 1, /no "forecast" entry in its metadata/);
    expect(existsSync(none)).toBe(false);
  });
});

describe("lstm-wasm forecast: errors and exit codes", () => {
  it("usage errors exit 2 with one line naming the flag; --seed 0 is accepted", () => {
    expectError(run(["forecast", "--horizon", "0"]), 2, /--horizon/);
    expectError(run(["forecast", "--seed", "-1"]), 2, /--seed/);
    expectError(run(["forecast", "--seed", "1.5"]), 2, /--seed/);
    expectError(run(["forecast", "--bogus"]), 2, /unknown option '--bogus'/);
    expectError(run(["forecast", "--outt", "x"]), 2, /unknown option '--outt' \(Did you mean --out\?\)/);
    expectError(run(["forecast", "--transform", "sqrt"]), 2, /--transform.*log, diff, none/);
    expectError(run(["forecast", "--delimiter", "ab"]), 2, /--delimiter/);
    expectError(run(["forecast", "--features", "x"]), 2, /--features needs a CSV file/);
    expectError(run(["forecast", at("air.csv"), "--column", "passengers", "--features", "passengers"]), 2, /is the column being forecast/);
    expectError(run(["forecast", "a.csv", "b.csv"]), 2, /too many arguments/);
    expectError(run([]), 2, /missing command/);
    expectError(run(["forcast"]), 2, /unknown command "forcast"/);
    expect(run(["forecast", "--seed", "0", "--epochs", "2", "-q", "--out", fresh()]).status).toBe(0);
  });

  it("missing files, directories and unreadable files are one-line errors (exit 1)", () => {
    expectError(run(["forecast", at("nope.csv"), "--out", fresh()]), 1, /cannot read .*nope\.csv: no such file/);
    expectError(run(["forecast", dir, "--out", fresh()]), 1, /it is a directory, not a file/);
    expectError(run(["forecast", "--model", at("nope.safetensors"), "--out", fresh()]), 1, /--model .*: no such file/);
    expectError(run(["forecast", "--model", dir, "--out", fresh()]), 1, /--model .*: it is a directory/);
    writeFileSync(at("locked.csv"), readFileSync(at("air.csv")));
    chmodSync(at("locked.csv"), 0o000);
    chmodSync(dir, 0o755);
    // root reads anything, so run as nobody there.
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    expectError(run(["forecast", at("locked.csv"), "--out", join(tmpdir(), "lstm-wasm-never")], { uid }), 1, /cannot read .*locked\.csv: permission denied/);
    expectError(run(["forecast", at("air.csv"), "--out", "/proc/lstm-wasm-out"]), 1, /--out/);
  });

  it("--out on an existing file is a one-line error before training", () => {
    writeFileSync(at("taken"), "x");
    const r = run(["forecast", at("air.csv"), "--epochs", "100000", "--out", at("taken")]);
    expectError(r, 1, /--out .*taken: it is a file, not a directory/);
    expect(readFileSync(at("taken"), "utf8")).toBe("x");
    expectError(run(["forecast", "--out", join(at("taken"), "sub")]), 1, /taken is a file, not a directory/);
  });

  it("bad input leaves no output behind: NaN cells, empty cells, constant and short series, bad CSV", () => {
    const rows = AIRLINE_PASSENGERS.map((v, i) => `${i},${v}`);
    const cases: [string, string, RegExp][] = [
      ["nan.csv", ["t,y", ...rows.slice(0, 50), "50,NaN", ...rows.slice(51)].join("\n"), /nan\.csv line 52, column "y": expected a finite number, found "NaN"/],
      ["hole.csv", ["t,y", ...rows.slice(0, 70), "70,", ...rows.slice(71)].join("\n"), /line 72, column "y".*empty cell/],
      ["const.csv", ["t,y", ...rows.map((r) => r.replace(/,.*/, ",4.5"))].join("\n"), /column "y" is constant \(every value is 4\.5\)/],
      ["short.csv", ["t,y", ...rows.slice(0, 30)].join("\n"), /30 points.*need at least 55.*--lookback/],
      ["ragged.csv", "t,y\n1,2\n3,4,5\n", /ragged\.csv line 3: 3 fields, but the first row has 2/],
      ["empty.csv", "", /no rows/],
      ["binary.csv", "\u0000\u0001\u0002", /binary file/],
    ];
    for (const [name, text, pattern] of cases) {
      writeFileSync(at(name), text);
      const out = join(dir, `never-${name}`);
      expectError(run(["forecast", at(name), "--out", out]), 1, pattern);
      expect(existsSync(out), name).toBe(false);
    }
    const existing = fresh(); // an existing --out stays empty too
    expectError(run(["forecast", at("nan.csv"), "--out", existing]), 1, /NaN/);
    expect(readdirSync(existing)).toEqual([]);
  });
});

describe("lstm-wasm forecast: colors", () => {
  it("no ANSI escapes when stdout is not a terminal or NO_COLOR is set; FORCE_COLOR forces them", () => {
    const args = ["forecast", "--epochs", "2", "-q", "--out", fresh()];
    const plain = run(args), forced = run(args, { env: { FORCE_COLOR: "1" } }), both = run(args, { env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    const noColor = run(args, { env: { NO_COLOR: "1" } });
    expect(plain.stdout).toMatch(/forecast of the next 12/);
    expect(plain.stdout).not.toContain("\u001b[");
    expect(noColor.stdout).not.toContain("\u001b[");
    expect(forced.stdout).toContain("\u001b[");
    expect(both.stdout).toContain("\u001b["); // FORCE_COLOR wins, as in Node itself
    expect(run([...args, "--json"], { env: { FORCE_COLOR: "1" } }).stdout).not.toContain("\u001b[");
  });
});

describe("lstm-wasm forecast at scale", () => {
  let big: string;
  beforeAll(() => {
    big = at("big.csv");
    const lines = ["time,load"];
    for (let i = 0; i < 250_000; i++) lines.push(`${i},${(100 + 20 * Math.sin((2 * Math.PI * i) / 24) + 5 * Math.sin(i / 5000)).toFixed(3)}`);
    writeFileSync(big, lines.join("\n") + "\n");
  });

  it("refuses a 250,000-row CSV up front, with the expected time and --tail / --max-rows, before any training", () => {
    const out = join(dir, "never-big");
    const t0 = performance.now();
    const r = run(["forecast", big, "--out", out]);
    expectError(r, 1, /has 250,000 rows, more than --max-rows 50000: training 200 epochs on them would take about [\d,.]+ (s|min|h|days) here\. Use --tail 50000/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(existsSync(out)).toBe(false);
  });

  it("trains on the last rows with --tail, and on all 250,000 with --max-rows, plotting them downsampled", () => {
    const tail = json(run(["forecast", big, "--tail", "3000", "--epochs", "2", "--json", "-q", "--out", fresh()]));
    expect(tail.data).toMatchObject({ rows: 3000 });
    const out = fresh();
    const small = ["--season", "4", "--lookback", "4", "--horizon", "4", "--hidden", "8", "--epochs", "1"];
    const all = json(run(["forecast", big, "--max-rows", "300000", ...small, "--json", "-q", "--out", out]));
    expect(all.data.rows).toBe(250_000);
    expect(all.forecast).toHaveLength(4);
    expect(existsSync(join(out, "model.safetensors"))).toBe(true);
    const svg = readFileSync(join(out, "forecast.svg"), "utf8");
    expect(svg).toContain("the last 3,000 of 250,000 points");
    for (const m of svg.matchAll(/points="([^"]*)"/g)) expect(m[1].split(" ").length).toBeLessThanOrEqual(1000);
  });
});
