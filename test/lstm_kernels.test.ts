// lstm_forward / lstm_backward called directly on every build, for what the layer classes do not
// reach yet: the hard-sigmoid recurrent activation, Keras masks (pre-padding, post-padding, gaps,
// reverse), and missing biases. Each case is checked three ways: forward against the float64
// reference (test/helpers/ref.ts, proven by test/reference.test.ts), backward against the
// reference's BPTT, and the kernel's own gradients against central differences of its forward.
import { describe, it, expect } from "vitest";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32, refForward, refBackward, type RefConfig, type F64 } from "./helpers/ref";
import { expectClose, expectBits, TOL } from "./helpers/close";
import { lowBytes, runLstm, dimsOf, type LstmCase, type LstmParams } from "./helpers/kernels";
import { forwardGates } from "./helpers/gates";
import { backend } from "../src/wasm/backend";
import { fdCheck, dot, type Probe } from "./helpers/gradcheck";

interface Case { name: string; c: LstmCase; bias?: "both" | "none" | "ih"; state?: boolean }

// Masks are [T][B]; a row is a column here. Keras's pad_sequences pre-pads by default.
const PRE = [0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]; // T=5 B=3: rows start at t = 2, 0, 1
const POST = [1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1]; // rows end after t = 1, 4, 2
// T=6 B=4: row 0 gaps, row 1 never processed, row 2 always, row 3 pre- and post-padded with a gap.
const GAPS = [1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0];

const CASES: Case[] = [
  { name: "hard sigmoid, I=3 H=5, T=6 B=3, h0/c0", c: { T: 6, B: 3, I: 3, H: 5, hard: true }, state: true },
  { name: "hard sigmoid, peepholes, projection 3, reverse, lengths, I=4 H=6", c: { T: 5, B: 3, I: 4, H: 6, P: 3, peephole: true, reverse: true, hard: true, lengths: [5, 2, 4] }, state: true },
  { name: "hard sigmoid, one step of one row (the fused streaming path), I=7 H=16", c: { T: 1, B: 1, I: 7, H: 16, hard: true }, state: true },
  { name: "mask, pre-padded rows, I=3 H=5", c: { T: 5, B: 3, I: 3, H: 5, mask: PRE } },
  { name: "mask, post-padded rows, h0/c0, I=4 H=3", c: { T: 5, B: 3, I: 4, H: 3, mask: POST }, state: true },
  { name: "mask with gaps and a row never processed, h0/c0, I=5 H=7", c: { T: 6, B: 4, I: 5, H: 7, mask: GAPS }, state: true },
  { name: "mask with gaps, reverse (a bidirectional layer's second direction), h0/c0, I=3 H=5", c: { T: 6, B: 4, I: 3, H: 5, mask: GAPS, reverse: true }, state: true },
  { name: "mask, pre-padded, reverse, I=2 H=4", c: { T: 5, B: 3, I: 2, H: 4, mask: PRE, reverse: true } },
  { name: "mask, peepholes, projection 2, hard sigmoid, h0/c0, I=3 H=5", c: { T: 6, B: 4, I: 3, H: 5, P: 2, peephole: true, hard: true, mask: GAPS }, state: true },
  { name: "mask with padded rows of x and y (strides I+3, Hout+5), I=5 H=4", c: { T: 5, B: 3, I: 5, H: 4, mask: POST, padX: 3, padY: 5 }, state: true },
  { name: "mask, one step of two rows, one masked (the fused streaming path), I=5 H=16", c: { T: 1, B: 2, I: 5, H: 16, mask: [1, 0] }, state: true },
  { name: "no biases (torch bias=False), peepholes, I=4 H=5", c: { T: 4, B: 3, I: 4, H: 5, peephole: true }, bias: "none", state: true },
  { name: "only bias_ih (Keras's single bias), projection 3, I=3 H=6", c: { T: 4, B: 2, I: 3, H: 6, P: 3 }, bias: "ih", state: true },
  { name: "no biases, one step of one row (takes the GEMM path), I=6 H=16", c: { T: 1, B: 1, I: 6, H: 16 }, bias: "none", state: true },
  { name: "no biases, mask, hard sigmoid, reverse, I=3 H=4", c: { T: 5, B: 3, I: 3, H: 4, mask: PRE, hard: true, reverse: true }, bias: "none" },
];

/** n float32 values in (-s, s). */
const rand = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const f64 = (a: Float32Array) => Float64Array.from(a);

function problem(k: Case, seed: number) {
  const rng = mulberry32(seed);
  const { c } = k;
  const { G, Hout, TB } = dimsOf(c);
  const bias = k.bias ?? "both";
  const p: LstmParams = {
    weight_ih: rand(rng, G * c.I, 0.6), weight_hh: rand(rng, G * Hout, 0.6),
    weight_hr: c.P ? rand(rng, Hout * c.H, 0.6) : null,
    bias_ih: bias !== "none" ? rand(rng, G, 0.6) : null, bias_hh: bias === "both" ? rand(rng, G, 0.6) : null,
    peephole_i: c.peephole ? rand(rng, c.H, 0.6) : null, peephole_f: c.peephole ? rand(rng, c.H, 0.6) : null,
    peephole_o: c.peephole ? rand(rng, c.H, 0.6) : null,
  };
  const x = rand(rng, TB * c.I, 2);
  const h0 = k.state ? rand(rng, c.B * Hout) : new Float32Array(c.B * Hout);
  const c0 = k.state ? rand(rng, c.B * c.H) : new Float32Array(c.B * c.H);
  const dy = rand(rng, TB * Hout), dhn = rand(rng, c.B * Hout), dcn = rand(rng, c.B * c.H);
  return { p, x, h0, c0, dy, dhn, dcn };
}

/** The float64 reference's configuration and parameters for a case (single bias: bias_hh = 0). */
function reference(k: Case, p: LstmParams) {
  const { c } = k;
  const cfg: RefConfig = {
    inputSize: c.I, hiddenSize: c.H, numLayers: 1, bidirectional: false, projSize: c.P ?? 0, peephole: !!c.peephole,
    reverse: !!c.reverse, lengths: c.lengths, mask: c.mask, recurrentActivation: c.hard ? "hardSigmoid" : "sigmoid",
    bias: k.bias !== "none",
  };
  const params: Record<string, F64> = {};
  for (const [name, v] of Object.entries(p)) if (v) params[`${name}_l0`] = f64(v);
  if (k.bias === "ih") params.bias_hh_l0 = new Float64Array(4 * c.H);
  return { cfg, params };
}

/** Which side of the hard sigmoid's kinks every i, f, o of a run is on. */
function regime(act: Float32Array, H: number): string {
  let s = "";
  for (let k = 0; k < act.length; k++) {
    if (Math.floor(k / H) % 4 === 2) continue; // g is tanh
    s += act[k] <= 0 ? "0" : act[k] >= 1 ? "1" : "m";
  }
  return s;
}

describe.each(BUILDS)("lstm kernels on the %s build", (build) => {
  CASES.forEach((k, idx) => {
    it(`forward and BPTT match float64, and the gradients match central differences (${k.name})`, async () => {
      await use(build);
      const { c } = k;
      const { Hout } = dimsOf(c);
      const s = problem(k, 300 + idx);
      const low = lowBytes();
      const run = runLstm(c, s.p, s.x, s.h0, s.c0, { dy: s.dy, dhn: s.dhn, dcn: s.dcn });
      expect(Buffer.compare(lowBytes(), low), "nothing written through a null pointer").toBe(0);
      const { cfg, params } = reference(k, s.p);
      const ref = refForward(cfg, params, f64(s.x), f64(s.h0), f64(s.c0), c.T, c.B);
      const refB = refBackward(cfg, params, ref, f64(s.dy), f64(s.dhn), f64(s.dcn));
      expectClose("y", run.y, ref.y, TOL.out);
      expectClose("hn", run.hn, ref.hn, TOL.out);
      expectClose("cn", run.cn, ref.cn, TOL.out);
      const back = run.back!;
      expectClose("dx", back.dx, refB.dx, TOL.grad);
      expectClose("dh0", back.dh0, refB.dh0, TOL.grad);
      expectClose("dc0", back.dc0, refB.dc0, TOL.grad);
      const want = Object.entries(s.p).filter(([, v]) => v).map(([n]) => n).sort();
      expect(Object.keys(back.grads).sort()).toEqual(want);
      for (const [n, g] of Object.entries(back.grads)) expectClose(`d${n}`, g, refB.grads[`${n}_l0`], TOL.grad);

      const probe = (): Probe => {
        const r = runLstm(c, s.p, s.x, s.h0, s.c0);
        return { value: dot(r.y, s.dy) + dot(r.hn, s.dhn) + dot(r.cn, s.dcn), regime: c.hard ? regime(r.act, c.H) : undefined };
      };
      const rng = mulberry32(900 + idx);
      let compared = 0, skipped = 0;
      const tally = (r: { compared: number; skipped: number }) => { compared += r.compared; skipped += r.skipped; };
      tally(fdCheck("dx", s.x, back.dx, probe, { rng }));
      tally(fdCheck("dh0", s.h0, back.dh0, probe, { rng }));
      tally(fdCheck("dc0", s.c0, back.dc0, probe, { rng }));
      for (const [n, v] of Object.entries(s.p)) if (v) tally(fdCheck(`d${n}`, v, back.grads[n], probe, { rng }));
      expect(skipped, `elements straddling a hard-sigmoid kink (${skipped} of ${compared + skipped})`).toBeLessThanOrEqual(compared / 10);

      if (c.mask) {
        // A masked step outputs the row's previous output in processing order (h0 before any) bit
        // for bit, and its input gets exactly zero gradient.
        for (let b = 0; b < c.B; b++) {
          let prev: Float32Array = s.h0.subarray(b * Hout, (b + 1) * Hout);
          for (let q = 0; q < c.T; q++) {
            const t = c.reverse ? c.T - 1 - q : q;
            const yt = run.y.subarray((t * c.B + b) * Hout, (t * c.B + b + 1) * Hout);
            if (c.mask[t * c.B + b]) { prev = yt; continue; }
            expectBits(`y[${t}][${b}] (masked)`, yt, prev);
            expect(back.dx.subarray((t * c.B + b) * c.I, (t * c.B + b + 1) * c.I).every((v) => v === 0), `dx[${t}][${b}] = 0`).toBe(true);
          }
        }
      }
    });
  });
});

describe("hard sigmoid, elementwise", () => {
  // TF.js computes clipByValue(add(0.5, mul(0.2, x)), 0, 1) in float32: two roundings, no fusion.
  const tfjs = (x: number) => {
    const v = Math.fround(Math.fround(x * Math.fround(0.2)) + 0.5);
    return Number.isNaN(v) ? NaN : Math.min(1, Math.max(0, v));
  };
  const xs = Float32Array.from([0, -0, 1, -1, 2.5, -2.5, 2.4999998, -2.4999998, 2.5000002, -2.5000002, 1e-30, -1e-30,
    1e-45, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 0.1, -0.7, 1.3, 2.2, -1.9, 7, -7, 0.25, 1e-7]);

  it.each(BUILDS)("on the %s build, the gates lstm_forward saves equal TF.js's float32 hard sigmoid bit for bit, specials included", async (build) => {
    await use(build);
    // One step, one row, H = xs.length units whose pre-activations are exactly xs in every gate
    // block (b_ih = xs, b_hh = -0, x = 0 and -0 weights: test/helpers/gates.ts); i, f and o read back as is.
    const H = xs.length, G = 4 * H;
    const bih = new Float32Array(G);
    for (let q = 0; q < 4; q++) bih.set(xs, q * H);
    const act = forwardGates(backend(), 1, 1, H, bih, new Float32Array(G).fill(-0), 1);
    const want = Float32Array.from(xs, tfjs);
    for (const [q, gate] of [[0, "i"], [1, "f"], [3, "o"]] as const) expectBits(`${gate} = hardSigmoid(x)`, act.subarray(q * H, (q + 1) * H), want);
  });
});
