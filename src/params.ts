// A layer's parameters and their gradients: two blocks of wasm memory with one layout (see
// layout.ts), converted to and from PyTorch's names, shapes and orientation at this boundary only.
import { LSTMError, describe } from "./errors";
import { type Tensor, type TensorLike, toTensor, intact } from "./tensor";
import type { Backend } from "./wasm/backend";
import { type ParamEntry, writeEntry, readEntry } from "./layout";
import { finite } from "./io";

export class ParamBlock {
  params: number;
  grads: number;
  /** Whether this block frees its memory itself (false once moved into a model's shared block). */
  private owned = true;
  get ownsMemory(): boolean { return this.owned; }

  constructor(readonly be: Backend, readonly entries: ParamEntry[], readonly total: number) {
    this.params = be.arena.alloc(total * 4, "parameters");
    try {
      this.grads = be.arena.alloc(total * 4, "gradients");
    } catch (e) {
      be.arena.release(this.params);
      throw e;
    }
    const heap = be.f32;
    heap.fill(0, this.params >>> 2, (this.params >>> 2) + total);
    heap.fill(0, this.grads >>> 2, (this.grads >>> 2) + total);
  }

  /** Fill every tensor from `draw(entry)`, which returns PyTorch-layout values. */
  init(draw: (e: ParamEntry) => Float32Array): void {
    for (const e of this.entries) writeEntry(e, draw(e), this.be.f32, this.params >>> 2);
  }

  /** Fresh PyTorch-layout tensors of the parameters (or of the gradients). */
  read(grads = false): Record<string, Tensor> {
    const heap = this.be.f32, base = (grads ? this.grads : this.params) >>> 2;
    const out: Record<string, Tensor> = {};
    for (const e of this.entries) out[e.name] = { data: readEntry(e, heap, base), shape: e.shape.slice() };
    return out;
  }

  /** Replace every parameter; all keys required, none unknown; validated before anything is written. */
  load(dict: Record<string, TensorLike>, what = "stateDict", checkFinite = false): void {
    if (dict === null || typeof dict !== "object" || Array.isArray(dict)) throw new LSTMError(what, "an object of named tensors", describe(dict));
    const names = new Set(this.entries.map((e) => e.name));
    for (const key of Object.keys(dict)) {
      if (!names.has(key)) throw new LSTMError(`${what}["${key}"]`, `only the keys ${[...names].join(", ")}`, "an unknown key");
    }
    const values = this.entries.map((e) => {
      if (!Object.prototype.hasOwnProperty.call(dict, e.name)) throw new LSTMError(`${what}["${e.name}"]`, `a tensor of shape [${e.shape.join(",")}]`, "a missing key");
      const data = toTensor(`${what}["${e.name}"]`, dict[e.name], e.shape).data;
      if (checkFinite) finite(`${what}["${e.name}"]`, data);
      return data;
    });
    // A later key's getter may have detached an earlier tensor: check them all before writing any.
    this.entries.forEach((e, i) => intact(`${what}["${e.name}"]`, values[i], e.size));
    const heap = this.be.f32;
    this.entries.forEach((e, i) => writeEntry(e, values[i], heap, this.params >>> 2));
  }

  zeroGrad(): void {
    const g = this.grads >>> 2;
    this.be.f32.fill(0, g, g + this.total);
  }

  /** Move both blocks to caller-owned memory (a model's one shared block), keeping the values. */
  moveTo(params: number, grads: number): void {
    const heap = this.be.f32;
    heap.copyWithin(params >>> 2, this.params >>> 2, (this.params >>> 2) + this.total);
    heap.copyWithin(grads >>> 2, this.grads >>> 2, (this.grads >>> 2) + this.total);
    this.free();
    this.params = params;
    this.grads = grads;
    this.owned = false;
  }

  free(): void {
    if (!this.owned) return;
    this.be.arena.release(this.params);
    this.be.arena.release(this.grads);
    this.owned = false;
  }
}
