// The kernels behind the non-LSTM layers, called directly on every build: linear_forward /
// linear_backward with each fused activation and without a bias, embedding_forward /
// embedding_backward, dropout_forward / dropout_backward. Each is checked against its float64 twin
// (test/helpers/ref_layers.ts) and by central differences of its own forward.
import { describe, it, expect } from "vitest";
import { BUILDS, use } from "./helpers/backends";
import { mulberry32 } from "./helpers/ref";
import { expectClose, expectBits, TOL } from "./helpers/close";
import { Mem, lowBytes, panelsOfTransposed, panelsOf, fromPanelsTransposed, panelSize } from "./helpers/kernels";
import { fdCheck, dot, type Probe } from "./helpers/gradcheck";
import {
  ACT_CODE, refLinear, refLinearBackward, refEmbedding, refEmbeddingBackward, refDropoutMask, type Act,
} from "./helpers/ref_layers";

const rand = (rng: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
const ACTS: Act[] = ["none", "relu", "tanh", "sigmoid", "softmax"];
// Sizes below, at and above the vector width, a partial 8-column panel, and R = 1.
const SHAPES: Array<[number, number, number]> = [[1, 3, 1], [7, 5, 9], [4, 9, 17], [3, 4, 4]];

interface LinearRun { y: Float32Array; dx?: Float32Array; dW?: Float32Array; db?: Float32Array }

/** linear_forward, and with dy linear_backward (dW, db start at 0; dz separate or, with inPlace, dy itself). */
function runLinear(x: Float32Array, W: Float32Array, b: Float32Array | null, R: number, In: number, O: number, act: Act,
  dy?: Float32Array, inPlace = false): LinearRun {
  const mem = new Mem();
  try {
    const K = mem.be.k, a = ACT_CODE[act];
    const px = mem.f32(x), pw = mem.f32(panelsOfTransposed(W, O, In)), pb = b ? mem.f32(b) : 0, py = mem.f32(R * O);
    K.linear_forward(py, px, In, pw, pb, R, In, O, a);
    const out: LinearRun = { y: mem.read(py, R * O, "y") };
    if (!dy) return out;
    const pdy = mem.f32(dy), pdz = inPlace ? pdy : mem.f32(R * O);
    const pdx = mem.f32(R * In), pdw = mem.f32(panelSize(In, O)), pdb = b ? mem.f32(O) : 0;
    const npack = K.gemm_scratch_size(R, O), pack = mem.f32(new Float32Array(npack).fill(NaN)); // scratch: read only after written
    K.linear_backward(pdx, pdw, pdb, a === 0 ? 0 : pdz, pack, pdy, py, px, In, mem.f32(panelsOf(W, O, In)), R, In, O, a);
    mem.read(pack, npack, "gemm_rm's scratch");
    out.dx = mem.read(pdx, R * In, "dx");
    out.dW = fromPanelsTransposed(mem.read(pdw, panelSize(In, O), "dW"), O, In);
    if (b) out.db = mem.read(pdb, O, "db");
    return out;
  } finally {
    mem.free();
  }
}

describe.each(BUILDS)("linear kernels on the %s build", (build) => {
  for (const act of ACTS) {
    for (const bias of [true, false]) {
      it(`act ${act}, ${bias ? "with" : "without"} bias: forward and backward match float64 and central differences, for every shape`, async () => {
        await use(build);
        SHAPES.forEach(([R, In, O], n) => {
          const rng = mulberry32(71 * n + ACT_CODE[act] + (bias ? 100 : 0));
          const label = `R=${R} In=${In} O=${O}`;
          const x = rand(rng, R * In, 2), W = rand(rng, O * In), b = bias ? rand(rng, O) : null, dy = rand(rng, R * O);
          const before = lowBytes();
          const r = runLinear(x, W, b, R, In, O, act, dy);
          expect(Buffer.compare(lowBytes(), before), `${label}: nothing written through a null pointer`).toBe(0);
          const y = refLinear(x, W, b, R, In, O, act);
          expectClose(`${label} y`, r.y, y, TOL.out);
          const g = refLinearBackward(x, W, y, dy, R, In, O, act);
          expectClose(`${label} dx`, r.dx!, g.dx, TOL.grad);
          expectClose(`${label} dW`, r.dW!, g.dW, TOL.grad);
          if (b) expectClose(`${label} db`, r.db!, g.db, TOL.grad);
          else expect(r.db).toBeUndefined();

          const probe = (): Probe => {
            const f = runLinear(x, W, b, R, In, O, act);
            return { value: dot(f.y, dy), regime: act === "relu" ? f.y.map((v) => (v > 0 ? 1 : 0)).join("") : undefined };
          };
          const fd = { rng, eps: 1e-3 };
          const counts = [fdCheck(`${label} dx`, x, r.dx!, probe, fd), fdCheck(`${label} dW`, W, r.dW!, probe, fd)];
          if (b) counts.push(fdCheck(`${label} db`, b, r.db!, probe, fd));
          const skipped = counts.reduce((n, c) => n + c.skipped, 0), compared = counts.reduce((n, c) => n + c.compared, 0);
          expect(skipped, `${label}: elements straddling relu's kink (of ${compared + skipped})`).toBeLessThanOrEqual(compared / 4);

          // dz may be dy itself: the same results, dy overwritten.
          if (act !== "none") {
            const ip = runLinear(x, W, b, R, In, O, act, dy.slice(), true);
            expectBits(`${label} dx with dz = dy`, ip.dx!, r.dx!);
            expectBits(`${label} dW with dz = dy`, ip.dW!, r.dW!);
          }
        });
      });
    }
  }

  it("softmax's backward under cross-entropy equals softmax_xent's fused gradient on the logits (the no-double-softmax path)", async () => {
    await use(build);
    const rng = mulberry32(5);
    const R = 6, In = 5, O = 11;
    const x = rand(rng, R * In, 2), W = rand(rng, O * In, 2), b = rand(rng, O);
    const t = Int32Array.from({ length: R }, () => Math.floor(rng() * O));
    const probs = runLinear(x, W, b, R, In, O, "softmax").y;
    // dL/dy of the mean of -log y[t] is -1/(R·y[t]) at the target: through softmax_backward, dz = (y - onehot)/R.
    const dy = new Float32Array(R * O);
    for (let r = 0; r < R; r++) dy[r * O + t[r]] = -1 / (R * probs[r * O + t[r]]);
    const viaSoftmax = runLinear(x, W, b, R, In, O, "softmax", dy);
    const mem = new Mem();
    const logits = runLinear(x, W, b, R, In, O, "none").y;
    const pd = mem.f32(R * O), pz = mem.f32(logits), pt = mem.i32(t);
    mem.be.k.softmax_xent(pd, pz, pt, R, O, 1);
    const dz = mem.read(pd, R * O, "d");
    mem.free();
    const fused = runLinear(x, W, b, R, In, O, "none", dz);
    expectClose("dW", viaSoftmax.dW!, fused.dW!, TOL.out);
    expectClose("db", viaSoftmax.db!, fused.db!, TOL.out);
    expectClose("dx", viaSoftmax.dx!, fused.dx!, TOL.out);
  });

  it("softmax rows are finite, sum to 1 and keep exact zeros for logits 1e4 apart", async () => {
    await use(build);
    const In = 1, O = 9, R = 3;
    // W = 1, x = 1: the logits are the biases.
    const b = Float32Array.from([1e4, 0, -1e4, 3, 2, 1, 0, -1, 88]);
    const y = runLinear(new Float32Array(R).fill(1), new Float32Array(O).fill(1), b, R, In, O, "softmax").y;
    for (let r = 0; r < R; r++) {
      const row = y.subarray(r * O, (r + 1) * O);
      expect(row.every(Number.isFinite)).toBe(true);
      expect(Math.abs(row.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-6);
      expect(row[0]).toBe(1);
      expect(row[2]).toBe(0);
    }
  });
});

// ---------------------------------------------------------------- embedding

describe.each(BUILDS)("embedding kernels on the %s build", (build) => {
  for (const E of [1, 3, 4, 5, 8, 13]) {
    it(`E=${E}: the gather copies rows bit for bit, the scatter adds every row (repeated ids summed), paddingIdx gets nothing, and central differences agree`, async () => {
      await use(build);
      const rng = mulberry32(E);
      const V = 6, R = 11;
      const W = rand(rng, V * E), ids = Int32Array.from({ length: R }, (_, r) => (r < 4 ? 2 : Math.floor(rng() * V)));
      ids[5] = 0;
      const mem = new Mem();
      const K = mem.be.k;
      const pw = mem.f32(W), pids = mem.i32(ids), py = mem.f32(R * E);
      K.embedding_forward(py, pids, pw, R, E);
      const y = mem.read(py, R * E, "y");
      expectBits("y", y, Float32Array.from(refEmbedding(ids, W, E)));
      expectBits("W unchanged", mem.read(pw, V * E, "W"), W);
      const dy = rand(rng, R * E), prior = rand(rng, V * E);
      for (const paddingIdx of [-1, 2, 0]) {
        const pdw = mem.f32(prior);
        K.embedding_backward(pdw, mem.f32(dy), pids, R, E, paddingIdx);
        const dW = mem.read(pdw, V * E, "dW");
        expectClose(`dW (paddingIdx ${paddingIdx})`, dW, refEmbeddingBackward(ids, dy, prior, E, paddingIdx), TOL.out);
        if (paddingIdx >= 0) expectBits(`dW[${paddingIdx}] untouched`, dW.subarray(paddingIdx * E, (paddingIdx + 1) * E), prior.subarray(paddingIdx * E, (paddingIdx + 1) * E));
      }
      K.embedding_forward(py, pids, pw, 0, E); // R = 0: nothing read or written
      mem.free();

      const dW = refEmbeddingBackward(ids, dy, new Float64Array(V * E), E, -1);
      const probe = (): Probe => {
        const m = new Mem();
        const p = m.f32(R * E);
        m.be.k.embedding_forward(p, m.i32(ids), m.f32(W), R, E);
        const v = dot(m.read(p, R * E), dy);
        m.free();
        return { value: v };
      };
      fdCheck("dW", W, dW, probe, { rng, cap: 24 });
    });
  }
});

// ---------------------------------------------------------------- dropout

/** dropout_forward on x; returns y and the mask (given: the mask passed in). */
function runDropout(x: Float32Array, p: number, seed: number, stream: number, given?: Float32Array, inPlace = false) {
  const mem = new Mem();
  const n = x.length, px = mem.f32(x), pm = mem.f32(given ?? n), py = inPlace ? px : mem.f32(n);
  mem.be.k.dropout_forward(py, pm, px, n, p, seed, stream, given ? 1 : 0);
  const out = { y: mem.read(py, n, "y"), mask: mem.read(pm, n, "mask") };
  mem.free();
  return out;
}

describe.each(BUILDS)("dropout kernels on the %s build", (build) => {
  it("the mask equals the integer twin of the generator bit for bit, for n below, at and above the vector width", async () => {
    await use(build);
    for (const n of [0, 1, 3, 4, 5, 7, 8, 9, 33, 1000]) {
      for (const [p, seed, stream] of [[0.5, 0, 0], [0.3, 12345, 7], [0.9, 0xffffffff, 0xfffffffe], [0.1, 42, 1]]) {
        const x = rand(mulberry32(n), n, 3);
        const { y, mask } = runDropout(x, p, seed, stream);
        const want = refDropoutMask(n, p, seed, stream);
        expectBits(`mask n=${n} p=${p} seed=${seed} stream=${stream}`, mask, want);
        expectBits(`y n=${n}`, y, Float32Array.from(x, (v, i) => v * want[i]));
      }
    }
  });

  it.each([0.1, 0.25, 0.5, 0.9])("p=%f: the fraction dropped is p within 5 standard deviations over 2^20 elements, and neighbours are independent", async (p) => {
    await use(build);
    const n = 1 << 20;
    const { mask } = runDropout(new Float32Array(n).fill(1), p, 2024, 3);
    const scale = Math.fround(1 / (1 - Math.fround(p)));
    let dropped = 0, bothKept = 0, other = 0;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) dropped++;
      else if (mask[i] !== scale) other++;
      else if (i + 1 < n && mask[i + 1] !== 0) bothKept++;
    }
    expect(other, "mask values other than 0 and 1/(1-p)").toBe(0);
    const sd = Math.sqrt((p * (1 - p)) / n);
    expect(Math.abs(dropped / n - p), `dropped ${dropped / n}`).toBeLessThan(5 * sd);
    const q = (1 - p) ** 2, sdq = Math.sqrt((q * (1 - q)) / n);
    expect(Math.abs(bothKept / (n - 1) - q), `neighbours both kept ${bothKept / (n - 1)}`).toBeLessThan(5 * sdq);
  });

  it("different streams and different seeds give different, uncorrelated masks", async () => {
    await use(build);
    const n = 1 << 16, p = 0.5, x = new Float32Array(n).fill(1);
    const masks = [runDropout(x, p, 1, 0).mask, runDropout(x, p, 1, 1).mask, runDropout(x, p, 1, 2).mask, runDropout(x, p, 2, 0).mask];
    for (let a = 0; a < masks.length; a++) {
      for (let b = a + 1; b < masks.length; b++) {
        let agree = 0;
        for (let i = 0; i < n; i++) if ((masks[a][i] === 0) === (masks[b][i] === 0)) agree++;
        // Independent masks agree on half the elements: 0.5 ± 5 standard deviations.
        expect(Math.abs(agree / n - 0.5), `masks ${a} and ${b} agree on ${agree / n}`).toBeLessThan(5 * Math.sqrt(0.25 / n));
      }
    }
  });

  it("p = 0 is the identity bit for bit (±0 and ±Infinity included), p = 1 drops everything, and y may be x", async () => {
    await use(build);
    const x = Float32Array.from([1.5, -0, 0, Infinity, -Infinity, 3e38, -1e-45, 7, -2, 0.1, 5]);
    const id = runDropout(x, 0, 9, 9);
    expectBits("y at p = 0", id.y, x);
    expect(id.mask.every((v) => v === 1)).toBe(true);
    const all = runDropout(x.map((v) => (Number.isFinite(v) ? v : 1)), 1, 9, 9);
    expect(all.mask.every((v) => v === 0) && all.y.every((v) => v === 0)).toBe(true);
    const fin = x.map((v) => (Number.isFinite(v) ? v : 2));
    expectBits("in place", runDropout(fin, 0.4, 5, 6, undefined, true).y, runDropout(fin, 0.4, 5, 6).y);
  });

  it("a given mask is applied as it is and left unchanged; backward is dy ⊙ mask (in place too); central differences agree", async () => {
    await use(build);
    const rng = mulberry32(8);
    const n = 37;
    const x = rand(rng, n, 2), dy = rand(rng, n);
    const given = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : Math.fround(1 / 0.7)));
    const r = runDropout(x, 0.99, 1, 1, given);
    expectBits("mask unchanged", r.mask, given);
    expectBits("y = x ⊙ mask", r.y, Float32Array.from(x, (v, i) => v * given[i]));
    const mem = new Mem();
    const pdy = mem.f32(dy), pm = mem.f32(given), pdx = mem.f32(n);
    mem.be.k.dropout_backward(pdx, pdy, pm, n);
    const dx = mem.read(pdx, n, "dx");
    mem.be.k.dropout_backward(pdy, pdy, pm, n);
    expectBits("dx in place", mem.read(pdy, n, "dy"), dx);
    mem.free();
    expectBits("dx = dy ⊙ mask", dx, Float32Array.from(dy, (v, i) => v * given[i]));
    fdCheck("dx", x, dx, () => ({ value: dot(runDropout(x, 0, 0, 0, given).y, dy) }), { rng, cap: n });
  });
});

describe("dropout across builds", () => {
  it("the same (p, seed, stream) gives the same mask and output bits on every build", async () => {
    const n = 100003, x = rand(mulberry32(1), n, 4);
    const outs = [];
    for (const build of BUILDS) {
      await use(build);
      outs.push(runDropout(x, 0.35, 77, 123));
    }
    for (const o of outs.slice(1)) {
      expectBits("mask", o.mask, outs[0].mask);
      expectBits("y", o.y, outs[0].y);
    }
  });
});
