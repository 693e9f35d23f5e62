// `lstm-wasm forecast [file]`: the command line. Flags are parsed and checked here; every failure
// ends as one line on stderr, `error: …`, with exit status 2 for a bad command line and 1 for
// anything else. Node-only; bundled into dist/cli.js with its dependencies.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { LSTMError } from "../errors";
import { CliError, UsageError } from "./cli-error";
import { delimiterFlag } from "./csv";
import { TRANSFORMS } from "./forecast";
import { runForecast, type Flags } from "./run";

declare const __LSTM_WASM_VERSION__: string; // set by scripts/bundle.mjs from package.json
const VERSION = typeof __LSTM_WASM_VERSION__ === "string" ? __LSTM_WASM_VERSION__ : "0.0.0-dev";

const int = (min: number, max: number) => (v: string): number => {
  const n = /^\s*[+]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer in [${min}, ${max}]`);
  }
  return n;
};
const list = (v: string): string[] => {
  const names = v.split(",").map((s) => s.trim());
  if (names.some((s) => s === "")) throw new InvalidArgumentError("expected column names separated by commas, e.g. --features price,promo");
  return names;
};
const delimiter = (v: string): string => {
  try {
    return delimiterFlag(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--delimiter: /, ""));
  }
};

const EXAMPLES = `
Examples:
  $ lstm-wasm forecast                                   # the built-in airline passengers data
  $ lstm-wasm forecast sales.csv --column sales --horizon 6 --season 12
  $ lstm-wasm forecast sales.csv --column sales --features price,promo --out results
  $ lstm-wasm forecast temps.csv --transform diff --json > forecast.json
  $ lstm-wasm forecast big.csv --tail 20000 --epochs 50 --quiet
  $ lstm-wasm forecast --model results/model.safetensors new-sales.csv --json
  $ cat sales.tsv | lstm-wasm forecast - --delimiter tab

The CSV needs a header row (a first row of numbers is taken as data, columns then named 1, 2, …).
Its delimiter (comma, semicolon or tab) is detected from the header. --column and --features take
names or 1-based positions. Output: a report on stdout (or one JSON object with --json), progress
on stderr, and model.safetensors, forecast.csv and forecast.svg in --out. Exit status: 0 done,
1 bad input or failure, 2 bad command line.`;

const program = new Command();
program.name("lstm-wasm").description("LSTM in WebAssembly: tools").version(VERSION, "-V, --version", "print the version")
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(oneLine(s) + "\n") })
  .argument("[command]")
  .action((name?: string) => {
    throw new UsageError(name === undefined ? "missing command: lstm-wasm forecast [file] (see lstm-wasm --help)" : `unknown command ${JSON.stringify(name)}: the command is forecast`);
  });
const forecast = program.command("forecast")
  .description("train an LSTM on a series and forecast its next --horizon points, scored against the seasonal-naive " +
    "baseline on held-out points (the built-in airline data when no file is given; - reads standard input)")
  .argument("[file]", "a CSV file with a header row, or - for standard input")
  .option("--column <name>", "the column to forecast (default: the last all-numeric one)")
  .option("--features <names>", "other columns whose past values are extra inputs, comma-separated", list)
  .addOption(new Option("--transform <name>", "log growth, differences or none (default: log for positive data, else diff)").choices(TRANSFORMS))
  .option("--horizon <n>", "points to hold out and to forecast", int(1, 100_000), 12)
  .option("--season <n>", "season length: the naive baseline's period and the lag of log and diff", int(1, 1_000_000), 12)
  .option("--lookback <n>", "past points the LSTM sees", int(1, 10_000), 12)
  .option("--hidden <n>", "LSTM hidden size", int(1, 1024), 32)
  .option("--epochs <n>", "training epochs", int(1, 1_000_000), 200)
  .option("--seed <n>", "seed for initialisation and shuffling", int(0, 2 ** 32 - 1), 1)
  .option("--delimiter <char>", "the CSV delimiter: a character, or tab, comma, semicolon (default: detected)", delimiter)
  .option("--tail <n>", "use only the last n rows of the data", int(1, Number.MAX_SAFE_INTEGER))
  .option("--max-rows <n>", "refuse to train on more rows than this (training time grows with them)", int(1, Number.MAX_SAFE_INTEGER), 50_000)
  .option("--model <file>", "forecast with a model.safetensors written by this command, without training")
  .addOption(new Option("--backend <name>", "the wasm build (default: the best available)").choices(["auto", "relaxed-simd", "simd", "scalar"]))
  .option("--out <dir>", "where to write model.safetensors, forecast.csv and forecast.svg", ".")
  .option("--json", "print one JSON object on stdout instead of the report", false)
  .option("-q, --quiet", "no progress or warnings on stderr", false)
  .version(VERSION, "-V, --version", "print the version")
  .addHelpText("after", EXAMPLES)
  .action(async (file: string | undefined, o: Record<string, any>, cmd: Command) => {
    const given = new Set(Object.keys(o).filter((k) => cmd.getOptionValueSource(k) === "cli"));
    await runForecast(file, { ...(o as Omit<Flags, "given">), given });
  });
void forecast;

function oneLine(s: string): string {
  const line = s.trim().replace(/\s*\n\s*/g, " ");
  return line.startsWith("error:") ? line : `error: ${line}`;
}

function fail(e: unknown): void {
  if (e instanceof CommanderError) {
    // Help and --version exit 0; every parsing error is a usage error.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    return;
  }
  const code = e instanceof CliError ? e.exitCode : 1;
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(oneLine(e instanceof CliError || e instanceof LSTMError ? msg : `unexpected: ${msg}`) + "\n");
  if (process.env.LSTM_WASM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exitCode = code;
}

// A reader that closes the pipe (| head) ends the run quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  fail(e);
});
process.on("uncaughtException", (e) => { fail(e); process.exit(); });
program.parseAsync(process.argv).catch(fail);
