// The parameter block's size, computed in closed form before anything is allocated (so absurd
// configurations are refused without building a layout), must equal the layout's own total.
import { it, expect } from "vitest";
import { layoutParams, paramFloats } from "../src/layout";

it("paramFloats equals the layout's total for plain, projected, peephole, bidirectional and deep models", () => {
  for (const [I, H, L, bi, P, pe] of [[3, 5, 1, false, 0, false], [7, 9, 3, true, 4, true], [1, 1, 2, false, 0, true], [17, 33, 2, true, 0, false], [64, 128, 4, false, 32, false]] as const) {
    const cfg = { inputSize: I, hiddenSize: H, numLayers: L, bidirectional: bi, reverse: false, projSize: P, peephole: pe, batchFirst: false,
      bias: L !== 2, recurrentActivation: "sigmoid" as const, dropout: 0, returnSequences: false, goBackwards: false };
    expect(paramFloats(cfg), JSON.stringify(cfg)).toBe(layoutParams(cfg).total);
  }
});
