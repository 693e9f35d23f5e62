// Threads of one kernel call: each runs the same kernel with its index `tid` of `nth`, takes its own
// output ranges (below), and the threads meet at barriers. Built only into the thread-capable
// builds (ASC_FEATURE_THREADS); elsewhere nth is 1 and a barrier is nothing.
//
// Ranges are fixed by (size, nth, tid) alone and chosen so that every output element is computed
// by exactly the code the one-thread call uses for it: GEMM columns in whole 8-column panels (a
// panel is computed the same whatever other panels are in the call), elementwise work in whole
// groups of 4 (an element lands in the same SIMD lane or scalar tail as in the whole row). So the
// results are bit-identical for every thread count.
// Barrier words at `sync` (i32 each): [0] arrivals, [2] abort, [3] how long (ms) thread 0 waits at
// one barrier before it gives up on a thread that never arrives (a dead worker); the caller zeroes
// [0] and [2] before each call. Arrivals only count up during a call: a thread's own arrival (one
// atomic add, nothing else written) tells it which barrier it is at, and the k-th barrier opens
// when the count reaches (k+1)·nth. No word is reset between barriers, so no reset can race an
// arrival at the next one.
// Workers spin a while, then sleep until woken; a page's main thread may not sleep, so thread 0
// only spins, looking at the clock every SPIN_CLOCK spins.
@inline const SPIN_SLEEP: i32 = 1 << 14;
@inline const SPIN_CLOCK: i32 = 1 << 16;

// performance.now(), in the thread-capable builds only (the others import nothing).
@external("env", "now") declare function now(): f64;

/**
 * Wait until all nth threads have arrived. False when the call was aborted (a thread gave up on
 * one that did not come, or faulted): the caller returns at once, and the TypeScript side reports it.
 */
export function barrier(sync: usize, nth: i32, tid: i32): bool {
  if (ASC_FEATURE_THREADS) {
    if (nth <= 1) return true;
    const old = atomic.add<i32>(sync, 1);
    const open = (old / nth + 1) * nth; // the count at which this barrier opens
    if (old == open - 1) { // the last to arrive
      atomic.notify(sync, nth);
      return true;
    }
    let spins = 0, since: f64 = -1;
    for (let seen = atomic.load<i32>(sync); seen < open; seen = atomic.load<i32>(sync)) {
      if (atomic.load<i32>(sync, 8) != 0) return false;
      spins++;
      if (tid != 0) {
        if (spins > SPIN_SLEEP) atomic.wait<i32>(sync, seen, 1_000_000); // until the count moves, or 1 ms
      } else if ((spins & (SPIN_CLOCK - 1)) == 0) {
        const t = now();
        if (since < 0) since = t;
        else if (t - since > <f64>atomic.load<i32>(sync, 12)) {
          atomic.store<i32>(sync, 1, 8);
          atomic.notify(sync, nth);
          return false;
        }
      }
    }
  }
  return true;
}

/** First column of thread tid's share of n columns: whole 8-column panels, in order. */
@inline export function panel_lo(n: i32, nth: i32, tid: i32): i32 {
  const p = (n + 7) >> 3;
  return min(n, <i32>((<i64>tid * p) / nth) << 3);
}

/** First element of thread tid's share of n elementwise columns: whole groups of 4, in order. */
@inline export function quad_lo(n: i32, nth: i32, tid: i32): i32 {
  const q = (n + 3) >> 2;
  return min(n, <i32>((<i64>tid * q) / nth) << 2);
}
