// The golden fixtures (PyTorch, float64) through the public API, on every build, at the
// tolerances of test/fixtures/README.md. Files are globbed so held-out sets drop in.
import { describe, it, expect } from "vitest";
import { LSTM, type Tensor } from "../src/index";
import { BUILDS, use } from "./helpers/backends";
import { lstmFixtureFiles, loadFixture, flatten, selectTimeSteps } from "./helpers/fixtures";
import { expectClose, TOL } from "./helpers/close";

function model(fx: any): LSTM {
  const c = fx.config;
  const lstm = new LSTM({
    inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, bidirectional: c.bidirectional,
    projSize: c.projSize, peephole: c.peephole, seed: 1,
  });
  lstm.loadStateDict(fx.weights); // nested arrays, as a user would pass them
  return lstm;
}

function checkGates(fx: any, gates: Record<string, Record<string, Tensor>>, label: string) {
  const T = fx.config.seqLen, B = fx.config.batch;
  const steps: number[] | null = Array.isArray(fx.gatesTimeSteps) ? fx.gatesTimeSteps : null;
  expect(Object.keys(gates).sort()).toEqual(Object.keys(fx.gates).sort());
  for (const [key, want] of Object.entries<any>(fx.gates)) {
    expect(Object.keys(gates[key]).sort(), `${label} gates.${key} names`).toEqual(Object.keys(want).sort());
    for (const [g, arr] of Object.entries<any>(want)) {
      const got = gates[key][g];
      const row = got.data.length / T;
      const actual = steps ? selectTimeSteps(Float64Array.from(got.data), T, row, steps) : got.data;
      expectClose(`${label} gates.${key}.${g}`, actual, flatten(arr).data, TOL.out);
    }
  }
}

describe.each(BUILDS)("golden LSTM fixtures on the %s build", (build) => {
  for (const file of lstmFixtureFiles()) {
    it(`forward, gates and BPTT match PyTorch float64 for ${file}`, async () => {
      await use(build);
      const fx = loadFixture(file);
      const lstm = model(fx);
      expect(lstm.backend).toBe(build);
      const opts = { h0: fx.inputs.h0, c0: fx.inputs.c0, lengths: fx.config.lengths, returnGates: true };
      const out = lstm.forward(fx.inputs.x, { ...opts, train: true });
      expectClose(`${file} y`, out.y.data, flatten(fx.outputs.y).data, TOL.out);
      expectClose(`${file} hn`, out.hn.data, flatten(fx.outputs.hn).data, TOL.out);
      expectClose(`${file} cn`, out.cn.data, flatten(fx.outputs.cn).data, TOL.out);
      expect(out.y.shape).toEqual(flatten(fx.outputs.y).shape);
      checkGates(fx, out.gates!, file);

      // The loss the fixture defines, from our outputs.
      const dot = (a: Float32Array, b: unknown) => { const e = flatten(b).data; let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * e[i]; return s; };
      const loss = dot(out.y.data, fx.loss.R) + dot(out.hn.data, fx.loss.Rh) + dot(out.cn.data, fx.loss.Rc);
      expect(Math.abs(loss - fx.loss.value)).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(fx.loss.value));

      const back = lstm.backward({ dy: fx.loss.R, dhn: fx.loss.Rh, dcn: fx.loss.Rc });
      expectClose(`${file} dx`, back.dx.data, flatten(fx.grads.x).data, TOL.grad);
      expectClose(`${file} dh0`, back.dh0.data, flatten(fx.grads.h0).data, TOL.grad);
      expectClose(`${file} dc0`, back.dc0.data, flatten(fx.grads.c0).data, TOL.grad);
      const grads = lstm.grads();
      expect(Object.keys(grads).sort()).toEqual(Object.keys(fx.weights).sort());
      for (const name of Object.keys(fx.weights)) {
        expectClose(`${file} d${name}`, grads[name].data, flatten(fx.grads[name]).data, TOL.grad);
      }

      // The inference path runs other buffers; its forward must be bit-identical.
      const inf = lstm.forward(fx.inputs.x, opts);
      expect(inf.y.data).toEqual(out.y.data);
      expect(inf.hn.data).toEqual(out.hn.data);
      expect(inf.cn.data).toEqual(out.cn.data);
      for (const key of Object.keys(out.gates!)) {
        for (const g of Object.keys(out.gates![key])) expect(inf.gates![key][g].data, `${key}.${g}`).toEqual(out.gates![key][g].data);
      }
      lstm.dispose();
    });
  }
});
