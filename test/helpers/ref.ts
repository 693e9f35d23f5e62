// Plain float64 LSTM reference (forward + BPTT), written for readability, not speed.
// The library's tests compare against it, and test/reference.test.ts proves it against the
// golden fixtures and finite differences. Layouts and names follow torch.nn.LSTM (gate order
// i, f, g, o); see test/fixtures/README.md for the variable-length (packed sequence) semantics.

export interface RefConfig {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  projSize: number;
  peephole: boolean;
  /** Unidirectional only: run the single direction t = T-1..0 (unsuffixed parameter names). */
  reverse?: boolean;
  /** Per batch element, 1 <= lengths[b] <= T; step t is valid for b iff t < lengths[b]. */
  lengths?: number[];
  /**
   * Keras/TF.js mask, [T][B] time-major, nonzero = processed; exclusive with lengths. A masked
   * step carries h and c unchanged and outputs the carried h (TF.js's rnn(): the previous output
   * in processing order, h0 before any step was processed).
   */
  mask?: number[];
  /** The i, f, o gates' function: "sigmoid" (default) or Keras's "hardSigmoid" clip(0.2x + 0.5, 0, 1). */
  recurrentActivation?: "sigmoid" | "hardSigmoid";
  /** false: no bias tensors (torch's bias=False); both biases are 0. Default true. */
  bias?: boolean;
}

export type F64 = Float64Array;

export interface RefForward {
  y: F64;
  hn: F64;
  cn: F64;
  gates: Record<string, Record<string, F64>>;
  cache: unknown;
}

export function refSigmoid(x: number): number {
  // exp(-|x|) never overflows, so saturated pre-activations give 0/1 instead of NaN.
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** Keras's hard sigmoid, clip(0.2x + 0.5, 0, 1), in float64. */
export function refHardSigmoid(x: number): number {
  return Math.min(1, Math.max(0, 0.2 * x + 0.5));
}

export function refTanh(x: number): number {
  return Math.tanh(x); // already saturates to +-1 without overflow
}

const hOut = (cfg: RefConfig) => (cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize);
const numDirs = (cfg: RefConfig) => (cfg.bidirectional ? 2 : 1);
const suffixOf = (layer: number, dir: number) => `_l${layer}${dir ? "_reverse" : ""}`;

export function refParamShapes(cfg: RefConfig): Array<[string, number[]]> {
  const H = cfg.hiddenSize, Ho = hOut(cfg), D = numDirs(cfg);
  const out: Array<[string, number[]]> = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const inSize = l === 0 ? cfg.inputSize : D * Ho;
    for (let d = 0; d < D; d++) {
      const s = suffixOf(l, d);
      out.push([`weight_ih${s}`, [4 * H, inSize]], [`weight_hh${s}`, [4 * H, Ho]]);
      if (cfg.bias !== false) out.push([`bias_ih${s}`, [4 * H]], [`bias_hh${s}`, [4 * H]]);
      if (cfg.projSize > 0) out.push([`weight_hr${s}`, [Ho, H]]);
      if (cfg.peephole) {
        out.push([`peephole_i${s}`, [H]], [`peephole_f${s}`, [H]], [`peephole_o${s}`, [H]]);
      }
    }
  }
  return out;
}

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomParams(cfg: RefConfig, rng: () => number, scale?: number): Record<string, F64> {
  const s = scale ?? 1 / Math.sqrt(cfg.hiddenSize);
  const params: Record<string, F64> = {};
  for (const [name, shape] of refParamShapes(cfg)) {
    const a = new Float64Array(shape.reduce((p, n) => p * n, 1));
    for (let k = 0; k < a.length; k++) a[k] = (2 * rng() - 1) * s;
    params[name] = a;
  }
  return params;
}

// ---------------------------------------------------------------- internals

interface DirParams {
  Wih: F64; Whh: F64; bih: F64; bhh: F64;
  Whr: F64 | null;
  pi: F64; pf: F64; po: F64; // zeros when the model has no peepholes
}

/** Everything one (layer, direction) pass saved for its BPTT, indexed by real time t. */
interface DirCache {
  suffix: string;
  reverse: boolean;
  p: DirParams;
  hPrev: F64; cPrev: F64; // state entering step t (the carried state at padded steps)
  i: F64; f: F64; g: F64; o: F64; c: F64; m: F64; h: F64; // 0 at padded steps
}

interface LayerCache { input: F64; inSize: number; dirs: DirCache[] }
interface Cache { cfg: RefConfig; T: number; B: number; layers: LayerCache[] }

function checkConfig(cfg: RefConfig, T: number, B: number): void {
  const ints = [cfg.inputSize, cfg.hiddenSize, cfg.numLayers, T, B];
  if (!ints.every((n) => Number.isInteger(n) && n >= 1)) throw new Error("ref: sizes must be integers >= 1");
  if (!Number.isInteger(cfg.projSize) || cfg.projSize < 0) throw new Error("ref: projSize must be an integer >= 0");
  if (cfg.reverse && cfg.bidirectional) throw new Error("ref: reverse is only defined for unidirectional models");
  if (cfg.lengths) {
    if (cfg.lengths.length !== B) throw new Error(`ref: lengths has ${cfg.lengths.length} entries, batch is ${B}`);
    for (const n of cfg.lengths) {
      if (!Number.isInteger(n) || n < 1 || n > T) throw new Error(`ref: length ${n} outside [1, ${T}]`);
    }
  }
  if (cfg.mask) {
    if (cfg.lengths) throw new Error("ref: lengths and mask are exclusive");
    if (cfg.mask.length !== T * B) throw new Error(`ref: mask has ${cfg.mask.length} entries, T*B is ${T * B}`);
  }
}

function checkLen(what: string, a: F64 | undefined, n: number): F64 {
  if (!a) throw new Error(`ref: missing ${what}`);
  if (a.length !== n) throw new Error(`ref: ${what} has ${a.length} elements, expected ${n}`);
  return a;
}

function dirParams(cfg: RefConfig, params: Record<string, F64>, l: number, d: number): DirParams {
  const s = suffixOf(l, d);
  const shapes = new Map(refParamShapes(cfg));
  const get = (name: string) =>
    checkLen(`parameter ${name}${s}`, params[name + s], shapes.get(name + s)!.reduce((p, n) => p * n, 1));
  const zeros = new Float64Array(cfg.hiddenSize);
  const noBias = new Float64Array(4 * cfg.hiddenSize);
  const bias = cfg.bias !== false;
  return {
    Wih: get("weight_ih"), Whh: get("weight_hh"),
    bih: bias ? get("bias_ih") : noBias, bhh: bias ? get("bias_hh") : noBias,
    Whr: cfg.projSize > 0 ? get("weight_hr") : null,
    pi: cfg.peephole ? get("peephole_i") : zeros,
    pf: cfg.peephole ? get("peephole_f") : zeros,
    po: cfg.peephole ? get("peephole_o") : zeros,
  };
}

function sameConfig(a: RefConfig, b: RefConfig): boolean {
  const keys: Array<keyof RefConfig> = ["inputSize", "hiddenSize", "numLayers", "bidirectional", "projSize", "peephole"];
  return keys.every((k) => a[k] === b[k]) && !!a.reverse === !!b.reverse &&
    (a.recurrentActivation ?? "sigmoid") === (b.recurrentActivation ?? "sigmoid") && (a.bias !== false) === (b.bias !== false) &&
    JSON.stringify(a.lengths ?? null) === JSON.stringify(b.lengths ?? null) &&
    JSON.stringify(a.mask ?? null) === JSON.stringify(b.mask ?? null);
}

/** Whether step t of batch row b is processed (not padding, not masked). */
const isValid = (cfg: RefConfig, t: number, b: number, B: number) =>
  (!cfg.lengths || t < cfg.lengths[b]) && (!cfg.mask || cfg.mask[t * B + b] !== 0);

const isHard = (cfg: RefConfig) => cfg.recurrentActivation === "hardSigmoid";
/** The recurrent activation's derivative from its output s. */
const ractGrad = (cfg: RefConfig, s: number) => (isHard(cfg) ? (s > 0 && s < 1 ? 0.2 : 0) : s * (1 - s));

// ---------------------------------------------------------------- forward

export function refForward(
  cfg: RefConfig, params: Record<string, F64>, x: F64, h0: F64, c0: F64, T: number, B: number,
): RefForward {
  checkConfig(cfg, T, B);
  const H = cfg.hiddenSize, Ho = hOut(cfg), D = numDirs(cfg), L = cfg.numLayers;
  checkLen("x", x, T * B * cfg.inputSize);
  checkLen("h0", h0, L * D * B * Ho);
  checkLen("c0", c0, L * D * B * H);
  const hn = new Float64Array(L * D * B * Ho);
  const cn = new Float64Array(L * D * B * H);
  const gates: Record<string, Record<string, F64>> = {};
  const layers: LayerCache[] = [];
  let input = x;
  let inSize = cfg.inputSize;
  for (let l = 0; l < L; l++) {
    const out = new Float64Array(T * B * D * Ho); // stays 0 at padded steps
    const dirs: DirCache[] = [];
    for (let d = 0; d < D; d++) {
      const reverse = d === 1 || !!cfg.reverse;
      const st = (l * D + d) * B;
      const dc = runDirection(cfg, dirParams(cfg, params, l, d), input, inSize, T, B, reverse,
        h0.slice(st * Ho, (st + B) * Ho), c0.slice(st * H, (st + B) * H),
        hn.subarray(st * Ho, (st + B) * Ho), cn.subarray(st * H, (st + B) * H));
      dc.suffix = suffixOf(l, d);
      for (let tb = 0; tb < T * B; tb++) {
        for (let j = 0; j < Ho; j++) out[tb * D * Ho + d * Ho + j] = dc.h[tb * Ho + j];
      }
      const rec: Record<string, F64> = { i: dc.i, f: dc.f, g: dc.g, o: dc.o, c: dc.c, h: dc.h };
      if (cfg.projSize > 0) rec.m = dc.m;
      gates[dc.suffix.slice(1)] = rec;
      dirs.push(dc);
    }
    layers.push({ input, inSize, dirs });
    input = out;
    inSize = D * Ho;
  }
  const cache: Cache = { cfg, T, B, layers };
  return { y: input, hn, cn, gates, cache };
}

/** One direction of one layer. h/c are this direction's [B][*] initial state, updated in place;
 *  the final state is written to hnOut/cnOut. */
function runDirection(
  cfg: RefConfig, p: DirParams, input: F64, inSize: number, T: number, B: number, reverse: boolean,
  h: F64, c: F64, hnOut: F64, cnOut: F64,
): DirCache {
  const H = cfg.hiddenSize, Ho = hOut(cfg);
  const z = (n: number) => new Float64Array(n);
  const dc: DirCache = {
    suffix: "", reverse, p, hPrev: z(T * B * Ho), cPrev: z(T * B * H),
    i: z(T * B * H), f: z(T * B * H), g: z(T * B * H), o: z(T * B * H), c: z(T * B * H), m: z(T * B * H),
    h: z(T * B * Ho),
  };
  const a = z(4 * H);
  const sig = isHard(cfg) ? refHardSigmoid : refSigmoid;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    for (let b = 0; b < B; b++) {
      const hb = b * Ho, cb = b * H, tH = (t * B + b) * H, tHo = (t * B + b) * Ho;
      for (let k = 0; k < Ho; k++) dc.hPrev[tHo + k] = h[hb + k];
      for (let j = 0; j < H; j++) dc.cPrev[tH + j] = c[cb + j];
      if (!isValid(cfg, t, b, B)) { // state carried, records stay 0; a masked step outputs the carried h
        if (cfg.mask) for (let r = 0; r < Ho; r++) dc.h[tHo + r] = h[hb + r];
        continue;
      }
      const xo = (t * B + b) * inSize;
      for (let r = 0; r < 4 * H; r++) {
        let sum = p.bih[r] + p.bhh[r];
        for (let k = 0; k < inSize; k++) sum += p.Wih[r * inSize + k] * input[xo + k];
        for (let k = 0; k < Ho; k++) sum += p.Whh[r * Ho + k] * h[hb + k];
        a[r] = sum;
      }
      for (let j = 0; j < H; j++) {
        const cp = c[cb + j];
        const ig = sig(a[j] + p.pi[j] * cp);
        const fg = sig(a[H + j] + p.pf[j] * cp);
        const gg = refTanh(a[2 * H + j]);
        const cNew = fg * cp + ig * gg;
        const og = sig(a[3 * H + j] + p.po[j] * cNew); // output peephole sees c_t
        dc.i[tH + j] = ig; dc.f[tH + j] = fg; dc.g[tH + j] = gg; dc.o[tH + j] = og;
        dc.c[tH + j] = cNew;
        dc.m[tH + j] = og * refTanh(cNew);
        c[cb + j] = cNew;
      }
      for (let r = 0; r < Ho; r++) {
        let v = 0;
        if (p.Whr) for (let j = 0; j < H; j++) v += p.Whr[r * H + j] * dc.m[tH + j];
        else v = dc.m[tH + r];
        dc.h[tHo + r] = v;
        h[hb + r] = v;
      }
    }
  }
  hnOut.set(h);
  cnOut.set(c);
  if (!p.Whr) dc.m.fill(0); // m is only reported with a projection (it equals h otherwise)
  return dc;
}

// ---------------------------------------------------------------- backward

export function refBackward(
  cfg: RefConfig, params: Record<string, F64>, fwd: RefForward, dy: F64, dhn: F64, dcn: F64,
): { dx: F64; dh0: F64; dc0: F64; grads: Record<string, F64> } {
  const cache = fwd.cache as Cache;
  if (!cache || !sameConfig(cache.cfg, cfg)) throw new Error("ref: fwd was not produced by refForward with this cfg");
  const { T, B, layers } = cache;
  const H = cfg.hiddenSize, Ho = hOut(cfg), D = numDirs(cfg), L = cfg.numLayers;
  checkLen("dy", dy, T * B * D * Ho);
  checkLen("dhn", dhn, L * D * B * Ho);
  checkLen("dcn", dcn, L * D * B * H);
  const dh0 = new Float64Array(L * D * B * Ho);
  const dc0 = new Float64Array(L * D * B * H);
  const byName: Record<string, F64> = {};
  let dOut = dy;
  for (let l = L - 1; l >= 0; l--) {
    const { input, inSize, dirs } = layers[l];
    const dIn = new Float64Array(T * B * inSize);
    dirs.forEach((dc, d) => {
      // params are re-read so a caller cannot silently pass a different set than the forward used
      const p = dirParams(cfg, params, l, d);
      const st = (l * D + d) * B;
      const dh = dhn.slice(st * Ho, (st + B) * Ho);
      const dcs = dcn.slice(st * H, (st + B) * H);
      const g = backDirection(cfg, p, dc, input, inSize, T, B, dOut, d, dh, dcs, dIn);
      dh0.set(dh, st * Ho);
      dc0.set(dcs, st * H);
      const s = dc.suffix;
      Object.assign(byName, {
        [`weight_ih${s}`]: g.Wih, [`weight_hh${s}`]: g.Whh, [`bias_ih${s}`]: g.b,
        [`bias_hh${s}`]: g.b.slice(), // both biases enter the sum identically
      });
      if (cfg.projSize > 0) byName[`weight_hr${s}`] = g.Whr;
      if (cfg.peephole) {
        Object.assign(byName, { [`peephole_i${s}`]: g.pi, [`peephole_f${s}`]: g.pf, [`peephole_o${s}`]: g.po });
      }
    });
    dOut = dIn;
  }
  const grads: Record<string, F64> = {};
  for (const [name] of refParamShapes(cfg)) grads[name] = byName[name]; // torch order
  return { dx: dOut, dh0, dc0, grads };
}

/** BPTT through one direction. dh/dc enter as dL/d(final state) and leave as dL/d(initial state).
 *  dIn accumulates dL/d(input) (both directions add into it). */
function backDirection(
  cfg: RefConfig, p: DirParams, dc: DirCache, input: F64, inSize: number, T: number, B: number,
  dOut: F64, d: number, dh: F64, dcs: F64, dIn: F64,
) {
  const H = cfg.hiddenSize, Ho = hOut(cfg), D = numDirs(cfg);
  const z = (n: number) => new Float64Array(n);
  const g = { Wih: z(4 * H * inSize), Whh: z(4 * H * Ho), b: z(4 * H), Whr: z(Ho * H), pi: z(H), pf: z(H), po: z(H) };
  const dht = z(Ho), dm = z(H), da = z(4 * H);
  for (let s = 0; s < T; s++) {
    const t = dc.reverse ? s : T - 1 - s; // opposite order to the forward pass
    for (let b = 0; b < B; b++) {
      const hb = b * Ho, cb = b * H, tH = (t * B + b) * H, tHo = (t * B + b) * Ho;
      if (!isValid(cfg, t, b, B)) { // dh/dc pass through, dx stays 0; padded: dy ignored
        if (cfg.mask) for (let r = 0; r < Ho; r++) dh[hb + r] += dOut[(t * B + b) * D * Ho + d * Ho + r]; // y_t was the carried h
        continue;
      }
      for (let r = 0; r < Ho; r++) dht[r] = dh[hb + r] + dOut[(t * B + b) * D * Ho + d * Ho + r];
      if (p.Whr) {
        dm.fill(0);
        for (let r = 0; r < Ho; r++) {
          for (let j = 0; j < H; j++) {
            g.Whr[r * H + j] += dht[r] * dc.m[tH + j];
            dm[j] += p.Whr[r * H + j] * dht[r];
          }
        }
      } else {
        dm.set(dht);
      }
      for (let j = 0; j < H; j++) {
        const i = dc.i[tH + j], f = dc.f[tH + j], gg = dc.g[tH + j], o = dc.o[tH + j];
        const c = dc.c[tH + j], cp = dc.cPrev[tH + j], tc = refTanh(c);
        const dao = dm[j] * tc * ractGrad(cfg, o);
        const dct = dcs[cb + j] + dm[j] * o * (1 - tc * tc) + dao * p.po[j]; // total dL/dc_t
        const dai = dct * gg * ractGrad(cfg, i);
        const daf = dct * cp * ractGrad(cfg, f);
        const dag = dct * i * (1 - gg * gg);
        g.pi[j] += dai * cp; g.pf[j] += daf * cp; g.po[j] += dao * c;
        dcs[cb + j] = dct * f + dai * p.pi[j] + daf * p.pf[j]; // dL/dc_{t-1}
        da[j] = dai; da[H + j] = daf; da[2 * H + j] = dag; da[3 * H + j] = dao;
      }
      const xo = (t * B + b) * inSize;
      for (let k = 0; k < Ho; k++) dh[hb + k] = 0;
      for (let r = 0; r < 4 * H; r++) {
        g.b[r] += da[r];
        for (let k = 0; k < inSize; k++) {
          g.Wih[r * inSize + k] += da[r] * input[xo + k];
          dIn[xo + k] += p.Wih[r * inSize + k] * da[r];
        }
        for (let k = 0; k < Ho; k++) {
          g.Whh[r * Ho + k] += da[r] * dc.hPrev[tHo + k];
          dh[hb + k] += p.Whh[r * Ho + k] * da[r];
        }
      }
    }
  }
  return g;
}

export function refLoss(fwd: RefForward, R: F64, Rh: F64, Rc: F64): number {
  const dot = (a: F64, b: F64, what: string) => {
    checkLen(what, b, a.length);
    let s = 0;
    for (let k = 0; k < a.length; k++) s += a[k] * b[k];
    return s;
  };
  return dot(fwd.y, R, "R") + dot(fwd.hn, Rh, "Rh") + dot(fwd.cn, Rc, "Rc");
}
