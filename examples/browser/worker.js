// The demo's module Web Worker: trains the model off the page's thread (see trainer.js) and
// posts progress, losses and gate activations back to main.js.
import { createTrainer } from "./trainer.js";

const trainer = createTrainer((message, transfer = []) => self.postMessage(message, transfer));
self.onmessage = (event) => trainer.handle(event.data);
