// Reading the forecast's input: a CSV (or TSV, or `;`-separated) table, its delimiter detected from
// the header line, and numeric columns taken out of it with errors that name the line and column.
import { parse } from "csv-parse/sync";
import { CliError, UsageError } from "./cli-error";

export interface Table {
  names: string[];   // the header, or "1", "2", … when the first row is all numbers
  rows: string[][];  // data rows only
  lines: number[];   // each data row's line in the file (1-based), for messages
  delimiter: string;
  header: boolean;
}

const CANDIDATES = ["\t", ";", ","]; // ties go to the earlier: commas appear in names more often
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$/;

/** `--delimiter` as typed: one character, or the words tab, comma, semicolon. */
export function delimiterFlag(v: string): string {
  const named: Record<string, string> = { tab: "\t", "\\t": "\t", comma: ",", semicolon: ";", pipe: "|" };
  const d = named[v.toLowerCase()] ?? v;
  if ([...d].length !== 1 || d === '"' || d === "\n" || d === "\r") {
    throw new UsageError(`--delimiter: expected one character (or tab, comma, semicolon), received ${JSON.stringify(v)}`);
  }
  return d;
}

/** The delimiter of the first non-empty line: the most frequent of tab, `;` and `,` outside quotes. */
export function detectDelimiter(text: string): string {
  const start = text.search(/[^\r\n]/);
  if (start < 0) return ",";
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  const counts = new Map(CANDIDATES.map((c) => [c, 0]));
  let quoted = false;
  for (let i = start; i < end; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = ",", most = 0;
  for (const c of CANDIDATES) if (counts.get(c)! > most) { best = c; most = counts.get(c)!; }
  return best;
}

/** Parse a whole file. @param where the file's name for messages. */
export function parseTable(text: string, where: string, delimiter?: string): Table {
  const d = delimiter ?? detectDelimiter(text);
  const hint = delimiter === undefined ? ` (delimiter detected: ${show(d)}; set one with --delimiter)` : "";
  const at: number[] = [];
  let records: string[][];
  try {
    records = parse(text, {
      delimiter: d, bom: true, skip_empty_lines: true, trim: d !== "\t", relax_quotes: false, relax_column_count: true,
      on_record: (rec: string[], ctx: { lines: number }) => { at.push(ctx.lines); return rec; },
    }) as string[][];
  } catch (err) {
    throw new CliError(`${where}: not a CSV this tool can read: ${(err as Error).message.replace(/\s+/g, " ").trim()}${hint}`);
  }
  // Rows of empty cells (spreadsheets leave them at the end) are skipped; trailing empty cells are
  // dropped and missing ones are empty, so only the columns used need to be complete.
  const kept: string[][] = [], lines: number[] = [];
  for (let k = 0; k < records.length; k++) {
    const r = records[k];
    if (d === "\t") for (let i = 0; i < r.length; i++) r[i] = r[i].trim();
    if (r.every((c) => c === "")) continue;
    kept.push(r);
    lines.push(at[k]);
  }
  if (kept.length === 0) throw new CliError(`${where}: the file has no rows`);
  const width = kept[0].length;
  for (let k = 1; k < kept.length; k++) {
    const r = kept[k];
    if (r.length > width && r.slice(width).some((c) => c !== "")) {
      throw new CliError(`${where} line ${lines[k]}: ${r.length} fields, but the first row has ${width}${hint}`);
    }
    r.length = width;
    for (let i = 0; i < width; i++) r[i] ??= "";
  }
  const header = !kept[0].every((c) => isNumber(c, d));
  const names = kept[0].map((c, i) => (header && c !== "" ? c : String(i + 1)));
  const rows = header ? kept.slice(1) : kept;
  if (rows.length === 0) throw new CliError(`${where}: a header row but no data rows`);
  return { names, rows, lines: header ? lines.slice(1) : lines, delimiter: d, header };
}

const show = (d: string) => (d === "\t" ? "tab" : JSON.stringify(d));

function isNumber(cell: string, delimiter: string): boolean {
  return NUMBER.test(cell) || (delimiter !== "," && DECIMAL_COMMA.test(cell));
}

/** A cell as a number: decimal notation only, with a decimal comma in files not separated by commas. NaN otherwise. */
export function toNumber(cell: string, delimiter: string): number {
  if (NUMBER.test(cell)) return Number(cell);
  if (delimiter !== "," && DECIMAL_COMMA.test(cell)) return Number(cell.replace(",", "."));
  return NaN;
}

/** Keep only the last n data rows. */
export function tailRows(t: Table, n: number): Table {
  if (n >= t.rows.length) return t;
  return { ...t, rows: t.rows.slice(t.rows.length - n), lines: t.lines.slice(t.lines.length - n) };
}

/**
 * The index of a column given by name (exactly, or case-insensitively when that is unambiguous)
 * or by 1-based position. @param flag the flag that named it, for messages.
 */
export function columnIndex(t: Table, name: string, flag: string, where: string): number {
  const hits = (eq: (a: string) => boolean) => t.names.flatMap((n, i) => (eq(n) ? [i] : []));
  let idx = hits((n) => n === name);
  if (idx.length === 0) idx = hits((n) => n.toLowerCase() === name.toLowerCase());
  if (idx.length > 1) throw new CliError(`${flag} ${JSON.stringify(name)}: ${where} has ${idx.length} columns of that name`);
  if (idx.length === 1) return idx[0];
  if (/^[1-9]\d*$/.test(name) && Number(name) <= t.names.length) return Number(name) - 1;
  throw new CliError(`${flag} ${JSON.stringify(name)}: ${where} has no such column (its columns: ${listNames(t.names)})`);
}

export const listNames = (names: string[]): string => (names.length > 12 ? [...names.slice(0, 12), "…"] : names).map((n) => JSON.stringify(n)).join(", ");

/**
 * The default target: the last column, other than `exclude`, of mostly numbers (so that a column
 * with a few bad cells is chosen, and its bad cells reported, rather than silently passed over).
 */
export function defaultColumn(t: Table, exclude: number[], where: string): number {
  for (let c = t.names.length - 1; c >= 0; c--) {
    if (exclude.includes(c)) continue;
    let numbers = 0;
    for (let r = 0; r < t.rows.length; r++) if (isNumber(t.rows[r][c], t.delimiter)) numbers++;
    if (2 * numbers >= t.rows.length) return c;
  }
  throw new CliError(`${where}: no column holds numbers (columns: ${listNames(t.names)}); name one with --column`);
}

/** A column's numbers; a missing or non-numeric cell is an error naming its line. */
export function numericColumn(t: Table, c: number, where: string): number[] {
  const out = new Array<number>(t.rows.length);
  for (let r = 0; r < t.rows.length; r++) {
    const cell = t.rows[r][c];
    const v = toNumber(cell, t.delimiter);
    if (!Number.isFinite(v)) {
      const what = cell === "" ? "an empty cell" : JSON.stringify(cell.length > 30 ? cell.slice(0, 30) + "…" : cell);
      throw new CliError(`${where} line ${t.lines[r]}, column ${JSON.stringify(t.names[c])}: expected a finite number, found ${what} (missing values are not filled in; remove or fill the row)`);
    }
    out[r] = v;
  }
  return out;
}
