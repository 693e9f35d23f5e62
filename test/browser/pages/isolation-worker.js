// Writes into the page's shared memory and wakes the page, as a wasm thread would.
self.onmessage = (e) => {
  const cells = new Int32Array(e.data.memory.buffer);
  Atomics.store(cells, 0, 42);
  self.postMessage({ shared: e.data.memory.buffer instanceof SharedArrayBuffer, woken: Atomics.notify(cells, 0) });
};
