/**
 * A concurrency cap with a FIFO waiting queue, like vLLM's `max_num_seqs`:
 * requests beyond the cap wait (and show in `vllm:num_requests_waiting`).
 */
interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class Scheduler {
  readonly maxConcurrency: number;
  #running = 0;
  #queue: Waiter[] = [];

  constructor(maxConcurrency: number) {
    this.maxConcurrency = Math.max(1, maxConcurrency);
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** Takes a slot without waiting; the zero-latency hot path never allocates a promise. */
  tryAcquire(): boolean {
    if (this.#running < this.maxConcurrency && this.#queue.length === 0) {
      this.#running++;
      return true;
    }
    return false;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  release(): void {
    const next = this.#queue.shift();
    if (next) {
      // The slot passes straight to the next waiter, so `running` stays the same.
      next.signal.removeEventListener("abort", next.onAbort);
      next.resolve();
      return;
    }
    this.#running = Math.max(0, this.#running - 1);
  }
}
