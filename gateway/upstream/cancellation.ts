import { EventEmitter } from "node:events";

/**
 * Cancels an upstream call: undici's `signal` option takes an EventEmitter that emits
 * "abort" as well as an AbortSignal (Dispatcher.md, "A request can be aborted with…").
 * Every proxied request needs one for its client going away, and an AbortController costs
 * ~7 µs of a request's CPU on this path (the controller, EventTarget listeners and
 * events.addAbortListener inside undici); an emitter costs a fraction of that.
 *
 * It has no `aborted` property on purpose: undici treats any object that has one as a
 * native AbortSignal.
 */
export class Cancellation extends EventEmitter {
  #cancelled = false;

  get cancelled(): boolean {
    return this.#cancelled;
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.emit("abort");
  }
}

/** What may cancel an upstream call: a client going away, or a caller's own deadline. */
export type UpstreamSignal = AbortSignal | Cancellation;

export function isCancelled(signal: UpstreamSignal): boolean {
  return signal instanceof Cancellation ? signal.cancelled : signal.aborted;
}
