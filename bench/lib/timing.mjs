// Timing: a warm-up, a cost estimate, then repetitions chosen by cost. Every sample is one call of fn
// (awaited when it returns a promise), timed with process.hrtime.bigint().

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

async function once(fn) {
  const t0 = now();
  const r = fn();
  if (r && typeof r.then === "function") await r;
  return now() - t0;
}

/**
 * @param fn the work; may be async
 * @param opts budgetMs: time to spend on the repetitions; minReps for cheap calls (< 200 ms),
 *   minRepsSlow for expensive ones; maxReps; warmup calls (at least 1; cheap calls get more);
 *   onPlan(reps, estMs) is called once the repetitions are chosen, before they run.
 * @returns { samples (ms), median, min, reps }
 */
export async function measure(fn, { budgetMs = 2000, minReps = 15, minRepsSlow = 3, maxReps = 500, warmup = 2, onPlan } = {}) {
  // First call compiles, allocates and warms caches; multi-second calls get no second warm-up.
  let est = await once(fn);
  for (let i = 1; (i < warmup && est < 1000) || (est < 5 && i < 20); i++) est = Math.min(est, await once(fn));
  const floor = est < 200 ? minReps : minRepsSlow;
  const reps = Math.max(floor, Math.min(maxReps, Math.round(budgetMs / Math.max(est, 1e-3))));
  if (onPlan) onPlan(reps, est);
  const samples = [];
  for (let i = 0; i < reps; i++) samples.push(await once(fn));
  return summarize(samples);
}

/** { samples, median, min, reps } of timings in ms (also for a peer that times itself). */
export function summarize(samples) {
  const sorted = samples.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { samples, median, min: sorted[0], reps: samples.length };
}

/**
 * Several calls timed side by side: after the warm-up (as measure(), every fn alike), rounds in
 * which each fn is called once, the order rotating from round to round, so that other processes'
 * load and the clock fall on all of them alike. The repetitions come from the round's estimated
 * cost: about budgetMs per fn (so a round of k fns gets k × budgetMs in all).
 * @returns one summary per fn ({ samples, median, min, reps }: samples[r] is round r), in fns' order
 */
export async function measureInterleaved(fns, { budgetMs = 2000, minReps = 15, minRepsSlow = 3, maxReps = 500, warmup = 2, onPlan } = {}) {
  const est = [];
  for (const fn of fns) est.push(await once(fn));
  // Warm-up rounds call every fn (so each has been called as often), while any of them wants more.
  for (let i = 1; i < 20 && est.some((e) => (i < warmup && e < 1000) || e < 5); i++) {
    for (let j = 0; j < fns.length; j++) est[j] = Math.min(est[j], await once(fns[j]));
  }
  const round = est.reduce((a, b) => a + b, 0), slowest = Math.max(...est);
  const floor = slowest < 200 ? minReps : minRepsSlow;
  const reps = Math.max(floor, Math.min(maxReps, Math.round((budgetMs * fns.length) / Math.max(round, 1e-3))));
  if (onPlan) onPlan(reps, est);
  const samples = fns.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (let j = 0; j < fns.length; j++) {
      const k = (j + r) % fns.length;
      samples[k].push(await once(fns[k]));
    }
  }
  return samples.map(summarize);
}

/** The median over rounds of a.samples[r] / b.samples[r] (two summaries of measureInterleaved). */
export function pairedRatio(a, b) {
  const n = Math.min(a.samples.length, b.samples.length);
  return summarize(Array.from({ length: n }, (_, r) => a.samples[r] / b.samples[r])).median;
}
