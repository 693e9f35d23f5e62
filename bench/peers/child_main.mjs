// The child side of child.mjs: one peer, one prepared case at a time, answering the parent's messages.
import { measure } from "../lib/timing.mjs";

const spec = JSON.parse(process.argv[2]);
const peer = (await import(new URL(spec.module, import.meta.url).href))[spec.factory](...(spec.args ?? []));
let r = null;

process.on("message", async (msg) => {
  try {
    if (msg.cmd === "prepare") {
      r?.dispose();
      r = await peer.prepare(msg.args);
      process.send({ stepsPerRun: r.stepsPerRun });
    } else if (msg.cmd === "outputs") {
      process.send({ outputs: await r.outputs() });
    } else if (msg.cmd === "time") {
      process.send({ samples: (await measure(r.run, msg.timing)).samples });
    } else if (msg.cmd === "dispose") {
      r?.dispose();
      r = null;
      process.send({});
    } else throw new Error(`unknown command ${msg.cmd}`);
  } catch (e) {
    process.send({ error: e.message });
  }
});
