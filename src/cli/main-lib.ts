// The CLI's pieces that do not run anything on import, so tests can use them.
import { parse } from "csv-parse/sync";
import { LSTMError } from "../errors";

/** The numbers of one CSV column (by name, or the only/last numeric one). */
export function readColumn(text: string, column?: string): { values: number[]; name: string } {
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  if (rows.length === 0) throw new LSTMError("file", "a CSV with a header row and data rows", "no rows");
  const names = Object.keys(rows[0]);
  let name = column;
  if (name === undefined) name = [...names].reverse().find((c) => rows.every((r) => Number.isFinite(Number(r[c])) && r[c] !== ""));
  if (name === undefined || !names.includes(name)) {
    throw new LSTMError("--column", `one of the CSV's columns (${names.join(", ")})${column ? "" : " holding numbers"}`, JSON.stringify(column ?? null));
  }
  const values = rows.map((r, i) => {
    const v = Number(r[name!]);
    if (r[name!] === "" || !Number.isFinite(v)) throw new LSTMError(`row ${i + 2}, column ${name}`, "a number", JSON.stringify(r[name!]));
    return v;
  });
  return { values, name };
}

