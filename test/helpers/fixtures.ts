// Loading the golden JSON fixtures (format described in test/fixtures/README.md).
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RefConfig } from "./ref";

/** Absolute path of test/fixtures, independent of the process's working directory. */
export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export interface NDArray {
  data: Float64Array;
  shape: number[];
}

/** Nested number arrays -> row-major data + shape. A bare number gives shape []. */
export function flatten(nested: unknown): NDArray {
  // The shape is read along the first branch; every other branch is checked against it.
  const shape: number[] = [];
  let probe: unknown = nested;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const data = new Float64Array(shape.reduce((p, n) => p * n, 1));
  let k = 0;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") {
        throw new Error(`flatten: expected a number at ${path || "(root)"}, got ${JSON.stringify(node)}`);
      }
      data[k++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new Error(`flatten: ragged input at ${path || "(root)"}: expected an array of length ${shape[depth]}`);
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(nested, 0, "");
  return { data, shape };
}

export function loadFixture(file: string): any {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, file), "utf8"));
}

// Globbed, not hard-coded: a held-out set with other names is dropped into the same folder.
const listFixtures = (prefix: string) =>
  readdirSync(FIXTURE_DIR).filter((f) => f.startsWith(prefix) && f.endsWith(".json")).sort();

export function lstmFixtureFiles(): string[] {
  return listFixtures("lstm_");
}

export function clipFixtureFiles(): string[] {
  return listFixtures("clip_");
}

export function fixtureRefConfig(fx: any): RefConfig {
  const c = fx.config;
  if (c.batchFirst) throw new Error("fixtureRefConfig: batchFirst fixtures are not supported");
  if (c.bias === false) throw new Error("fixtureRefConfig: bias=false fixtures are not supported");
  const cfg: RefConfig = {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    bidirectional: !!c.bidirectional,
    projSize: c.projSize ?? 0,
    peephole: !!c.peephole,
  };
  if (c.reverse) cfg.reverse = true;
  if (c.lengths) cfg.lengths = [...c.lengths];
  return cfg;
}

export function fixtureParams(fx: any): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, value] of Object.entries(fx.weights)) out[name] = flatten(value).data;
  return out;
}

/** Rows of a [T][rowSize] array at the given time steps, in that order (for `gatesTimeSteps`). */
export function selectTimeSteps(a: Float64Array, T: number, rowSize: number, steps: number[]): Float64Array {
  if (a.length !== T * rowSize) throw new Error(`selectTimeSteps: length ${a.length} is not ${T}*${rowSize}`);
  const out = new Float64Array(steps.length * rowSize);
  steps.forEach((t, n) => {
    if (!Number.isInteger(t) || t < 0 || t >= T) throw new Error(`selectTimeSteps: step ${t} outside [0, ${T})`);
    out.set(a.subarray(t * rowSize, (t + 1) * rowSize), n * rowSize);
  });
  return out;
}
