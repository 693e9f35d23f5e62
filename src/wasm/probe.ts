// Tiny modules that exist only to be validated: `() -> v128` returning a v128.const, and the same
// with f32x4.relaxed_madd (opcode 0xfd 0x105) applied to three constants.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const TYPE = [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b]; // one type: [] -> [v128]
const FUNC = [0x03, 0x02, 0x01, 0x00];
const V128_CONST = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];

function moduleWithBody(ops: number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00, ...ops, 0x0b]; // no locals, ops, end
  const code = [0x01, body.length, ...body];
  return new Uint8Array([...HEADER, ...TYPE, ...FUNC, 0x0a, code.length, ...code]);
}

export const SIMD_PROBE = moduleWithBody(V128_CONST);
export const RELAXED_SIMD_PROBE = moduleWithBody([...V128_CONST, ...V128_CONST, ...V128_CONST, 0xfd, 0x85, 0x02]);

// A module importing a shared memory (limits flag 0x03: shared, with a maximum; 1 page each):
// validating it tells whether the engine has wasm threads.
export const THREADS_PROBE = new Uint8Array([...HEADER, 0x02, 0x09, 0x01, 0x01, 0x6d, 0x01, 0x6d, 0x02, 0x03, 0x01, 0x01]);
