// Relaxed SIMD on Node 20 needs --experimental-wasm-relaxed-simd (Node 22+ has it on by default).
// ensureRelaxedSimd() validates a tiny module using f32x4.relaxed_madd; if the engine refuses it,
// the script is started again with the flag (stdio inherited) and this process exits with the
// child's code. The environment variable stops a loop when even the flag does not help.
import { spawnSync } from "node:child_process";

const FLAG = "--experimental-wasm-relaxed-simd";
const GUARD = "LSTM_WASM_BENCH_REEXEC";

// (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const BODY = [0x00, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x0b];
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: [] -> [v128]
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // code section
]);

export const relaxedSimdAvailable = () => WebAssembly.validate(PROBE);

/** Returns normally when relaxed SIMD validates (possibly after re-exec), or with a reason when it cannot. */
export function ensureRelaxedSimd() {
  if (relaxedSimdAvailable()) return { ok: true, flag: process.execArgv.includes(FLAG) };
  if (process.env[GUARD]) return { ok: false, reason: `relaxed SIMD does not validate even with ${FLAG}` };
  process.stderr.write(`[bench] relaxed SIMD is off in Node ${process.version}; re-running with ${FLAG}\n`);
  const child = spawnSync(process.execPath, [FLAG, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [GUARD]: "1" },
  });
  if (child.error) throw child.error;
  process.exit(child.status ?? 1);
}
