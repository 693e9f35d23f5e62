// Gradient clipping against the golden clip fixtures (PyTorch / NumPy float64), on every build.
import { describe, it, expect } from "vitest";
import { clipGradNorm, clipGradValue, LSTMError, type Tensor } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { clipFixtureFiles, loadFixture, flatten } from "./helpers/fixtures";
import { expectClipClose } from "./helpers/close";

const tensors = (grads: Record<string, unknown>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(grads).map(([k, v]) => {
    const f = flatten(v);
    return [k, { data: Float32Array.from(f.data), shape: f.shape }];
  }));

describe.each(BUILDS)("clipping on the %s build", (build) => {
  for (const file of clipFixtureFiles()) {
    it(`global norm clipping matches the project rule for ${file}`, async () => {
      await use(build);
      const fx = loadFixture(file);
      const g = tensors(fx.grads);
      const total = clipGradNorm(g, fx.maxNorm);
      expect(Math.abs(total - fx.totalNorm)).toBeLessThanOrEqual(1e-6 * Math.max(1, fx.totalNorm));
      for (const [k, want] of Object.entries<any>(fx.global.result)) {
        const w = flatten(want).data;
        expectClipClose(`${file} global ${k}`, g[k].data, w);
        expect(g[k].data.some(Number.isNaN)).toBe(false);
      }
    });

    it(`per-tensor clipping (list of Float32Arrays) matches the project rule for ${file}`, async () => {
      await use(build);
      const fx = loadFixture(file);
      const g = tensors(fx.grads);
      for (const [k, t] of Object.entries(g)) {
        const before = t.data.slice();
        const norm = clipGradNorm([t.data], fx.maxNorm);
        expect(Math.abs(norm - fx.norms[k])).toBeLessThanOrEqual(1e-6 * Math.max(1, fx.norms[k]));
        expectClipClose(`${file} perTensor ${k}`, t.data, flatten(fx.perTensor.result[k]).data);
        // Strict >: a tensor the fixture did not clip is bit-identical afterwards.
        if (!fx.perTensor.clipped[k]) expect(t.data).toEqual(before);
      }
    });

    it(`value clipping matches clip_grad_value_ for ${file}`, async () => {
      await use(build);
      const fx = loadFixture(file);
      const g = tensors(fx.grads);
      clipGradValue(Object.values(g), fx.clipValue);
      for (const [k, want] of Object.entries<any>(fx.value.result)) expectClipClose(`${file} value ${k}`, g[k].data, flatten(want).data);
    });
  }

  it("all-zero gradients stay exactly zero with a norm of 0, under every rule", async () => {
    await use(build);
    for (const n of [0, 1, 3, 4, 5, 17]) {
      const a = new Float32Array(n), b = new Float32Array(7);
      expect(clipGradNorm([a, b], 1)).toBe(0);
      expect(clipGradNorm({ a, b }, 0)).toBe(0);
      clipGradValue([a, b], 0.5);
      expect([...a, ...b].every((v) => Object.is(v, 0))).toBe(true);
    }
    expect(clipGradNorm([], 1)).toBe(0);
  });

  it("a norm exactly equal to maxNorm leaves the gradients unchanged (strict >, no epsilon)", async () => {
    await use(build);
    const g = new Float32Array([3, 4, 0, 0, 0]);
    expect(clipGradNorm([g], 5)).toBe(5);
    expect([...g]).toEqual([3, 4, 0, 0, 0]);
    expect(clipGradNorm([g], 4.999)).toBe(5);
    expect(Math.hypot(...g)).toBeCloseTo(4.999, 5);
  });

  it("norms of large values do not overflow float32 squares", async () => {
    await use(build);
    const g = new Float32Array(9).fill(1e30);
    expect(clipGradNorm([g], 3)).toBeCloseTo(3e30, -25);
    for (const v of g) expect(v).toBeCloseTo(1, 5);
  });
});

describe("clipping arguments", () => {
  it("bad tensors and thresholds give an LSTMError naming the argument", async () => {
    await use("simd");
    const ok = [new Float32Array(2)];
    const cases: [() => unknown, string][] = [
      [() => clipGradNorm(ok, -1), "maxNorm"],
      [() => clipGradNorm(ok, NaN), "maxNorm"],
      [() => clipGradNorm(ok, "1" as any), "maxNorm"],
      [() => clipGradNorm(null as any, 1), "tensors"],
      [() => clipGradNorm([new Float64Array(2)] as any, 1), "tensors[0]"],
      [() => clipGradNorm({ w: [1, 2] } as any, 1), 'tensors["w"]'],
      [() => clipGradValue(ok, -0.5), "clipValue"],
      [() => clipGradValue([{ data: [1], shape: [1] }] as any, 1), "tensors[0].data"],
    ];
    for (const [fn, arg] of cases) {
      let err: unknown;
      try { fn(); } catch (e) { err = e; }
      expect(err, arg).toBeInstanceOf(LSTMError);
      expect((err as LSTMError).argument).toBe(arg);
    }
  });
});
