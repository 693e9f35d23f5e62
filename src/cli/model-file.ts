// model.safetensors as the forecast tool writes it: Sequential.save()'s file (tensors and its
// `format`, `formatVersion`, `config` metadata) plus one more metadata key, `forecast`, holding the
// ForecastMeta as JSON: everything needed to forecast again without training.
import { Sequential } from "../model/sequential";
import { LSTM } from "../lstm";
import { Linear } from "../linear";
import { readSafetensorsWithMetadata, writeSafetensors } from "../safetensors";
import { CliError } from "./cli-error";
import { type ForecastMeta, type Stats, META_VERSION, TRANSFORMS, tailLength } from "./forecast";

export const META_KEY = "forecast";

export function modelBytes(model: Sequential, meta: ForecastMeta): Uint8Array {
  const { tensors, metadata } = readSafetensorsWithMetadata(model.save());
  return writeSafetensors(tensors, { ...metadata, [META_KEY]: JSON.stringify(meta) });
}

/** A saved forecast model, every field of its metadata checked against the network. */
export function loadModel(bytes: Uint8Array, where: string): { model: Sequential; meta: ForecastMeta } {
  let metadata: Record<string, string>;
  try {
    metadata = readSafetensorsWithMetadata(bytes).metadata;
  } catch (err) {
    throw new CliError(`--model ${where}: not a safetensors file (${reason(err)})`);
  }
  const raw = metadata[META_KEY];
  if (raw === undefined) {
    throw new CliError(`--model ${where}: no "${META_KEY}" entry in its metadata, so it was not written by lstm-wasm forecast`);
  }
  const meta = parseMeta(raw, `--model ${where}: metadata ${META_KEY}`);
  let model: Sequential;
  try {
    model = Sequential.load(bytes);
  } catch (err) {
    throw new CliError(`--model ${where}: not a model this tool can load (${reason(err)})`);
  }
  const [lstm, head] = model.layers;
  const shapeOk = model.layers.length === 2 && lstm instanceof LSTM && head instanceof Linear;
  const c = shapeOk ? lstm.config : null;
  const want = { inputs: 1 + meta.features.length, hidden: meta.hidden, outputs: meta.horizon };
  const got = c ? { inputs: c.inputSize, hidden: c.hiddenSize, outputs: (head as Linear).config.outputSize } : { layers: model.layers.length };
  if (!c || JSON.stringify(want) !== JSON.stringify(got) || c.numLayers !== 1 || c.bidirectional || c.returnSequences) {
    model.dispose();
    throw new CliError(`--model ${where}: the network (${JSON.stringify(got)}) does not match its forecast metadata (${JSON.stringify(want)})`);
  }
  return { model, meta };
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

function parseMeta(raw: string, at: string): ForecastMeta {
  let m: any;
  try {
    m = JSON.parse(raw);
  } catch {
    throw new CliError(`${at}: not valid JSON`);
  }
  const fail = (field: string, expected: string): never => { throw new CliError(`${at}.${field}: expected ${expected}`); };
  if (m === null || typeof m !== "object" || Array.isArray(m)) fail("", "an object");
  if (m.version !== META_VERSION) fail("version", `${META_VERSION} (this lstm-wasm reads version ${META_VERSION})`);
  if (typeof m.column !== "string") fail("column", "a string");
  if (!Array.isArray(m.features) || !m.features.every((f: unknown) => typeof f === "string")) fail("features", "an array of strings");
  if (!TRANSFORMS.includes(m.transform)) fail("transform", TRANSFORMS.join(", "));
  for (const k of ["season", "lookback", "horizon", "hidden", "epochs", "rows"]) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 1) fail(k, "a positive integer");
  }
  if (!Number.isSafeInteger(m.seed) || m.seed < 0) fail("seed", "an integer >= 0");
  const stats = (s: Stats | undefined, field: string) => {
    if (!s || typeof s !== "object" || !Number.isFinite(s.mean) || !(Number.isFinite(s.std) && s.std > 0)) fail(field, "{ mean, std } with std > 0");
  };
  stats(m.target, "target");
  if (!Array.isArray(m.covariates) || m.covariates.length !== m.features.length) fail("covariates", "one { mean, std } per feature");
  m.covariates.forEach((s: Stats, i: number) => stats(s, `covariates[${i}]`));
  const K = tailLength(m), finite = (a: unknown) => Array.isArray(a) && a.length === K && a.every(Number.isFinite);
  if (!m.tail || !finite(m.tail.target)) fail("tail.target", `${K} finite numbers`);
  if (m.transform === "log" && !m.tail.target.every((v: number) => v > 0)) fail("tail.target", "values > 0 (transform log)");
  if (!Array.isArray(m.tail.features) || m.tail.features.length !== m.features.length || !m.tail.features.every(finite)) {
    fail("tail.features", `one array of ${K} finite numbers per feature`);
  }
  return m as ForecastMeta;
}
