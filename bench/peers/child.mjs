// A peer run in a Node child process of its own, for a library whose setting is fixed once per
// process (onnxruntime-web's thread count). The child (child_main.mjs) builds the peer from
// `module`'s export `factory(...args)`, returns its outputs for the check, and times itself with
// ../lib/timing.mjs's measure(), so no process round trip is inside a timed call. Messages go over
// Node's IPC channel with the structured-clone serialization, so Float32Arrays cross as they are.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./child_main.mjs", import.meta.url));

/**
 * @param peer the in-process peer it stands for (name, backend, threads, supports), from the same factory
 * @param spec { module (relative to this directory), factory, args }
 * @returns a peer with the same name, backend and threads whose prepare() and timing run in the child
 */
export function childPeer(peer, spec) {
  let child = null, pending = null, exited = null;
  const start = () => {
    child = fork(MAIN, [JSON.stringify(spec)], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (m) => { const p = pending; pending = null; p?.(m); });
    child.on("exit", (code, signal) => {
      exited = `the child process exited (${signal ?? `code ${code}`})`;
      const p = pending; pending = null; p?.({ error: exited });
      child = null;
    });
  };
  const call = (msg) => new Promise((resolve, reject) => {
    if (!child) start();
    exited = null;
    pending = (m) => (m.error ? reject(new Error(m.error)) : resolve(m));
    child.send(msg);
  });
  return {
    name: peer.name,
    backend: peer.backend,
    threads: peer.threads,
    inChild: true,
    supports: peer.supports,
    async prepare(args) {
      const r = await call({ cmd: "prepare", args });
      return {
        outputs: async () => (await call({ cmd: "outputs" })).outputs,
        timed: async (timing) => (await call({ cmd: "time", timing })).samples,
        dispose: () => call({ cmd: "dispose" }).catch(() => {}),
        stepsPerRun: r.stepsPerRun,
      };
    },
    /** Ends the child (call when done with this peer). */
    close() {
      if (child) { child.disconnect(); child.kill(); child = null; }
    },
  };
}
