// The engine's thread: ricci compiled to WebAssembly, so that the page never
// freezes while it derives. Messages: {id, kind: "tensors" | "derive" |
// "bench", ...}; each answer is {id, answer (the binding's JSON string), ms}.
// A trap in the module (a bug) is answered as {id, crashed} and the page
// restarts this worker, whose memory may then be inconsistent.
import init, { tensors, derive } from "../pkg/ricci_web.js";

const ready = init({ module_or_path: new URL("../pkg/ricci_web_bg.wasm", import.meta.url) });

function run(message) {
  switch (message.kind) {
    case "tensors":
      return tensors(message.source, message.of || "L", !!message.einstein);
    case "derive":
      return derive(message.source, JSON.stringify(message.options));
    case "bench": {
      // The median of `repeat` derivations, after one that compiles the rule tables.
      const options = JSON.stringify(message.options);
      derive(message.source, options);
      const times = [];
      for (let k = 0; k < message.repeat; k++) {
        const started = performance.now();
        derive(message.source, options);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      return JSON.stringify({ ok: true, median: times[times.length >> 1], times });
    }
    default:
      throw new Error(`unknown message ${message.kind}`);
  }
}

self.onmessage = async (event) => {
  const message = event.data;
  try {
    await ready;
    const started = performance.now();
    const answer = run(message);
    self.postMessage({ id: message.id, answer, ms: performance.now() - started });
  } catch (error) {
    self.postMessage({ id: message.id, crashed: String(error && error.message ? error.message : error) });
  }
};
