// The debug builds (assertions kept, `npm run build:debug`) loaded through init({ wasm }):
// the loader's abort handler turns a kernel assertion into a readable error, and normal use
// trips none of them.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { init, LSTM } from "../src/index";
import { backend } from "../src/wasm/backend";
import { BUILDS } from "./helpers/backends";
import { loadFixture, lstmFixtureFiles, flatten } from "./helpers/fixtures";
import { expectClose, TOL } from "./helpers/close";

const debugBytes = (b: string) => readFileSync(new URL(`../build/debug/${b}.wasm`, import.meta.url));

describe.each(BUILDS)("the %s debug build", (build) => {
  it("reports a violated kernel precondition with its message and source location", async () => {
    await init({ backend: build, wasm: debugBytes(build) });
    const be = backend();
    expect(be.custom).toBe(true);
    const p = be.arena.alloc(1024);
    // ldb = 4 < N = 8: the release build trusts this; the debug build asserts.
    expect(() => be.k.gemm_rm(p, p, p, p, 2, 8, 2, 2, 1, 4, 8, 8, 0)).toThrow(/gemm_rm: bad sizes.*assembly\/gemm\.ts/);
    be.arena.release(p);
  });

  it("runs every golden fixture through the public API without tripping an assertion", async () => {
    await init({ backend: build, wasm: debugBytes(build) });
    for (const file of lstmFixtureFiles()) {
      const fx = loadFixture(file), c = fx.config;
      const lstm = new LSTM({ inputSize: c.inputSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers,
        bidirectional: c.bidirectional, projSize: c.projSize, peephole: c.peephole, seed: 1 });
      lstm.loadStateDict(fx.weights);
      const out = lstm.forward(fx.inputs.x, { h0: fx.inputs.h0, c0: fx.inputs.c0, lengths: c.lengths, train: true });
      expectClose(`${file} y`, out.y.data, flatten(fx.outputs.y).data, TOL.out);
      const back = lstm.backward({ dy: fx.loss.R, dhn: fx.loss.Rh, dcn: fx.loss.Rc });
      expectClose(`${file} dx`, back.dx.data, flatten(fx.grads.x).data, TOL.grad);
      lstm.dispose();
    }
    // Asking for the same backend without bytes goes back to the embedded release build.
    await init({ backend: build });
    expect(backend().custom).toBe(false);
  });
});
