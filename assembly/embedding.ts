// An embedding table: row lookup forward, scatter-add backward (torch.nn.Embedding).
// Shapes: R rows looked up (N·T ids), E embedding width, V table rows. W [V,E] is row-major.
// Ids are trusted: the TypeScript side checks 0 <= id < V before the call (debug builds assert).
import { f4 } from "./vec";

/**
 * y [R,E]     out: y[r] = W[ids[r]].
 * ids i32 [R], W [V,E].
 */
export function embedding_forward(y: usize, ids: usize, W: usize, R: i32, E: i32): void {
  assert(R >= 0 && E > 0, "embedding_forward: bad sizes");
  for (let r = 0; r < R; r++) {
    const id = load<i32>(ids + f4(r));
    assert(id >= 0, "embedding_forward: negative id");
    const src = W + f4(id * E), dst = y + f4(r * E);
    let j = 0;
    // Vector moves, not memory.copy: V8 makes that a call, which costs more than a short row.
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= E; j += 4) v128.store(dst + f4(j), v128.load(src + f4(j)));
    }
    for (; j < E; j++) store<f32>(dst + f4(j), load<f32>(src + f4(j)));
  }
}

/**
 * Backward of embedding_forward; the gradient is added (the caller zeroes it).
 * dW [V,E]    += Σ over rows r with ids[r] = v of dy[r], in row order; rows whose id is
 *             paddingIdx add nothing (torch's padding_idx). paddingIdx = -1: none.
 * dy [R,E], ids i32 [R].
 */
export function embedding_backward(dW: usize, dy: usize, ids: usize, R: i32, E: i32, paddingIdx: i32): void {
  assert(R >= 0 && E > 0, "embedding_backward: bad sizes");
  for (let r = 0; r < R; r++) {
    const id = load<i32>(ids + f4(r));
    if (id == paddingIdx) continue;
    assert(id >= 0, "embedding_backward: negative id");
    const dst = dW + f4(id * E), src = dy + f4(r * E);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= E; j += 4) v128.store(dst + f4(j), f32x4.add(v128.load(dst + f4(j)), v128.load(src + f4(j))));
    }
    for (; j < E; j++) store<f32>(dst + f4(j), load<f32>(dst + f4(j)) + load<f32>(src + f4(j)));
  }
}
