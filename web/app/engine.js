// The page's side of the engine: requests to the worker, each with a time
// limit. A worker that takes longer, or that crashed, is terminated and a new
// one started, so the page always answers.

/** How long one request may take before the worker is restarted, in ms. */
export const TIME_LIMIT_MS = 10_000;

export class Engine {
  constructor(url, onRestart) {
    this.url = url;
    this.onRestart = onRestart;
    this.timeLimitMs = TIME_LIMIT_MS;
    this.next = 1;
    this.pending = new Map();
    this.restarts = 0;
    this.start();
  }

  start() {
    this.worker = new Worker(this.url, { type: "module" });
    this.worker.onmessage = (event) => this.settle(event.data);
    this.worker.onerror = (event) => this.restart(`the engine failed to start: ${event.message || "unknown error"}`);
  }

  /** Ends the worker, fails every pending request with `reason`, starts a new one. */
  restart(reason) {
    this.worker.terminate();
    this.restarts += 1;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    this.start();
    if (this.onRestart) this.onRestart(reason);
  }

  settle(data) {
    const p = this.pending.get(data.id);
    if (!p) return;
    this.pending.delete(data.id);
    clearTimeout(p.timer);
    if (data.crashed) {
      p.reject(new Error(`the engine stopped with an internal error (${data.crashed}); it was restarted`));
      this.restart(`internal error: ${data.crashed}`);
      return;
    }
    p.resolve({ answer: JSON.parse(data.answer), ms: data.ms });
  }

  /** Sends `message` to the worker; resolves with {answer, ms}. */
  request(message) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const limit = this.timeLimitMs;
      const timer = setTimeout(() => {
        this.restart(`the engine took more than ${(limit / 1000).toFixed(1)} s and was stopped; it was restarted`);
      }, limit);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ ...message, id });
    });
  }

  tensors(source, of, einstein) {
    return this.request({ kind: "tensors", source, of, einstein });
  }

  derive(source, options) {
    return this.request({ kind: "derive", source, options });
  }

  bench(source, options, repeat) {
    return this.request({ kind: "bench", source, options, repeat });
  }
}
