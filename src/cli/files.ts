// The CLI's file system: inputs read with one-line errors (missing, a directory, unreadable, binary),
// the output directory checked before any training, and outputs written whole or not at all.
import { readFileSync, statSync, existsSync, mkdirSync, rmdirSync, writeFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CliError } from "./cli-error";

/** Largest input read; a bigger CSV can be cut with `tail -n` first. */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory, not a file";
  if (code === "ENOTDIR") return "a part of the path is not a directory";
  return code ?? ((err as Error)?.message ?? String(err)).split("\n")[0];
}

/** A whole input file (`-` is standard input). @param flag how to name it in messages. */
export function readInput(file: string, flag: string, binary = false): Uint8Array {
  const name = file === "-" ? "standard input" : flag ? `${flag} ${file}` : file;
  let bytes: Buffer;
  try {
    if (file !== "-") {
      const st = statSync(file);
      if (st.isDirectory()) throw new CliError(`${name}: it is a directory, not a file`);
      if (!st.isFile()) throw new CliError(`${name}: not a regular file`);
      if (st.size > MAX_INPUT_BYTES) {
        throw new CliError(`${name}: ${(st.size / 2 ** 20).toFixed(0)} MB is more than the ${MAX_INPUT_BYTES / 2 ** 20} MB this tool reads; cut it first (e.g. tail -n 100000)`);
      }
    }
    bytes = readFileSync(file === "-" ? 0 : file);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${name}: ${fsReason(err)}`);
  }
  const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe;
  if (!binary && !utf16 && bytes.subarray(0, 8192).includes(0)) throw new CliError(`${name}: a binary file, not CSV text`);
  return bytes;
}

/** A text file: UTF-8, UTF-16 with its byte order mark (Excel's "Unicode text"), else Latin-1. */
export function readText(file: string): string {
  const bytes = readInput(file, "");
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("latin1").decode(bytes);
  }
}

/**
 * Check that `dir` is, or can become, a writable directory, and that none of `names` in it is a
 * directory, by writing a probe file there. Leaves nothing behind.
 */
export function checkOutDir(dir: string, names: string[]): void {
  const abs = resolve(dir);
  let p = abs;
  for (;;) { // the nearest part of the path that exists
    try {
      if (statSync(p).isDirectory()) break;
      throw new CliError(p === abs ? `--out ${dir}: it is a file, not a directory` : `--out ${dir}: ${p} is a file, not a directory`);
    } catch (err) {
      if (err instanceof CliError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new CliError(`--out ${dir}: ${fsReason(err)}`);
      p = dirname(p); // the root always exists, so this ends
    }
  }
  for (const n of names) {
    try {
      if (statSync(join(abs, n)).isDirectory()) throw new CliError(`--out ${dir}: ${join(abs, n)} is a directory, so ${n} cannot be written there`);
    } catch (err) {
      if (err instanceof CliError) throw err;
    }
  }
  let created: string[] = [];
  const probe = join(abs, `.lstm-wasm-probe.${process.pid}`);
  try {
    created = makeDirs(abs);
    writeFileSync(probe, "");
  } catch (err) {
    throw new CliError(`--out ${dir}: cannot write there (${fsReason(err)})`);
  } finally {
    try { rmSync(probe, { force: true }); } catch { /* nothing was written */ }
    for (const d of created.reverse()) try { rmdirSync(d); } catch { /* not ours to keep or remove */ }
  }
}

// mkdir -p, one level at a time: Node 20's recursive mkdirSync loops forever under /proc.
function makeDirs(abs: string): string[] {
  const missing: string[] = [];
  for (let p = abs; !existsSync(p); p = dirname(p)) missing.push(p);
  const created: string[] = [];
  for (const d of missing.reverse()) {
    mkdirSync(d);
    created.push(d);
  }
  return created;
}

/** Write a file whole: to a temporary name, then renamed, so no partial file is ever left. */
export function writeOutput(dir: string, name: string, data: string | Uint8Array): string {
  const abs = resolve(dir), file = join(abs, name), tmp = join(abs, `.${name}.${process.pid}.tmp`);
  try {
    makeDirs(abs);
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    try { rmSync(tmp, { force: true }); } catch { /* the write error is the one to report */ }
    throw new CliError(`cannot write ${file}: ${fsReason(err)}`);
  }
  return join(dir, name);
}
