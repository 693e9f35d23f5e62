// Where the series comes from: a CSV file (or standard input), the built-in airline data, or the
// tail stored in a --model file; with the column and feature checks that go with each.
import { CliError, UsageError, count } from "./cli-error";
import { parseTable, tailRows, columnIndex, defaultColumn, numericColumn, toNumber, listNames } from "./csv";
import { readText } from "./files";
import type { ForecastMeta, Series } from "./forecast";
import { AIRLINE_PASSENGERS, AIRLINE_START } from "./airline";

export interface DataFlags {
  column?: string;
  features?: string[];
  delimiter?: string;
  tail?: number;
  maxRows: number;
}

export interface Loaded {
  series: Series;
  source: string;
  rows: number;                     // rows in the file (before --tail)
  label: (i: number, season: number) => string | null; // x-axis labels for the plot, or null for no tick
}

/** The built-in data: monthly airline passengers. */
export function builtIn(f: DataFlags): Loaded {
  if (f.features?.length) throw new UsageError("--features needs a CSV file: the built-in airline data has one column");
  if (f.column !== undefined) throw new UsageError("--column needs a CSV file: the built-in airline data has one column");
  let values: number[] = AIRLINE_PASSENGERS.slice();
  const skip = f.tail !== undefined && f.tail < values.length ? values.length - f.tail : 0;
  values = values.slice(skip);
  return {
    series: { column: "passengers", values, features: [] },
    source: "built-in: monthly international airline passengers (thousands) 1949–1960 (Box & Jenkins, Series G)",
    rows: AIRLINE_PASSENGERS.length,
    label: (i) => ((i + skip + AIRLINE_START.month - 1) % 12 === 0 ? String(AIRLINE_START.year + Math.floor((i + skip) / 12)) : null),
  };
}

/** The series stored in a --model file: its last points, enough to forecast past them. */
export function fromModel(meta: ForecastMeta, file: string, f: DataFlags): Loaded {
  matchModel(meta, file, f);
  return {
    series: { column: meta.column, values: meta.tail.target, features: meta.features.map((name, k) => ({ name, values: meta.tail.features[k] })) },
    source: `the last ${meta.tail.target.length} points stored in ${file}`,
    rows: meta.tail.target.length,
    label: () => null,
  };
}

/** A --column or --features that differs from the model's is refused, not silently replaced. */
function matchModel(meta: ForecastMeta, file: string, f: DataFlags): void {
  if (f.column !== undefined && f.column !== meta.column) {
    throw new CliError(`--model ${file} forecasts column ${JSON.stringify(meta.column)}, not --column ${JSON.stringify(f.column)}`);
  }
  if (f.features !== undefined && f.features.join("\n") !== meta.features.join("\n")) {
    const has = meta.features.length ? `features ${meta.features.join(", ")}` : "no features";
    throw new CliError(`--model ${file} was trained with ${has}, not --features ${f.features.join(",") || "(none)"}`);
  }
}

/**
 * A CSV's target column and feature columns, the last --tail rows of them.
 * @param meta with --model: the column and features come from the model.
 */
export function fromCsv(file: string, f: DataFlags, meta?: { meta: ForecastMeta; file: string }): Loaded {
  const where = file === "-" ? "standard input" : file;
  let t = parseTable(readText(file), where, f.delimiter);
  const rows = t.rows.length;
  if (f.tail !== undefined) t = tailRows(t, f.tail);
  if (!meta && t.rows.length > f.maxRows) throw new TooLong(where, rows, t.rows.length, f);
  if (meta) matchModel(meta.meta, meta.file, f);
  const column = meta ? meta.meta.column : f.column, features = meta ? meta.meta.features : f.features ?? [];
  const find = (name: string, flag: string) => {
    try {
      return columnIndex(t, name, flag, where);
    } catch (err) {
      if (!meta || !(err instanceof CliError)) throw err;
      throw new CliError(`${where} has no column ${JSON.stringify(name)}, which --model ${meta.file} ${flag === "--column" ? "forecasts" : "takes as a feature"} (its columns: ${listNames(t.names)})`);
    }
  };
  const named = column !== undefined ? find(column, "--column") : -1; // the target first: the likelier mismatch
  const fIdx = features.map((name) => find(name, "--features"));
  const cIdx = named >= 0 ? named : defaultColumn(t, fIdx, where);
  if (fIdx.includes(cIdx)) throw new UsageError(`--features: ${JSON.stringify(t.names[cIdx])} is the column being forecast`);
  if (new Set(fIdx).size !== fIdx.length) throw new UsageError("--features: a column is named twice");
  const values = numericColumn(t, cIdx, where);
  const feats = fIdx.map((c, k) => ({ name: meta ? features[k] : t.names[c], values: numericColumn(t, c, where) }));
  // A first column of text (dates, say) labels the plot's x axis.
  const labels = t.header && !fIdx.includes(0) && cIdx !== 0 && !Number.isFinite(toNumber(t.rows[0][0], t.delimiter)) ? t.rows.map((r) => r[0]) : null;
  return {
    series: { column: meta ? column! : t.names[cIdx], values, features: feats },
    source: where,
    rows,
    label: (i, season) => (i % season !== 0 ? null : labels ? labels[i] ?? null : String(i + 1 + rows - t.rows.length)),
  };
}

/** Above --max-rows: refused before anything is trained. The caller can add a time estimate. */
export class TooLong extends CliError {
  constructor(where: string, rows: number, readonly used: number, f: DataFlags, estimate = "") {
    const which = used === rows ? `${where} has ${count(rows, "row")}` : `--tail ${f.tail} keeps ${count(used, "row")} of ${where}`;
    super(`${which}, more than --max-rows ${f.maxRows}${estimate}. Use --tail ${f.maxRows} to train on the last ` +
      `${f.maxRows.toLocaleString("en-US")} rows, or raise --max-rows to train on more`);
    this.args = [where, rows, used, f];
  }
  readonly args: [string, number, number, DataFlags];
}
