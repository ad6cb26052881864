interface Flight<T> {
  promise: Promise<T>;
  /** Callers still waiting for it. */
  waiting: number;
  controller: AbortController;
}

/**
 * Runs one piece of work per key at a time, shared by every caller that asks for the
 * same key while it runs (the "single flight" of Go's x/sync). The work is given its own
 * abort signal, which fires only when every caller waiting for it has gone: one client
 * hanging up must not fail the others who share its render.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /**
   * The running flight for `key`, or a new one running `work`. `signal` is this caller's
   * own (its client going away). `leader` is true for the caller that started the work.
   */
  join(key: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): { promise: Promise<T>; leader: boolean } {
    let flight = this.flights.get(key);
    const leader = flight === undefined;
    if (!flight) {
      const controller = new AbortController();
      const started: Flight<T> = { promise: Promise.resolve().then(() => work(controller.signal)), waiting: 0, controller };
      const forget = () => {
        if (this.flights.get(key) === started) this.flights.delete(key);
      };
      started.promise.then(forget, forget);
      this.flights.set(key, started);
      flight = started;
    }
    const joined = flight;
    joined.waiting++;
    const leave = () => {
      joined.waiting--;
      if (joined.waiting > 0) return;
      // Nobody waits any more: stop the work, and let the next caller start anew.
      if (this.flights.get(key) === joined) this.flights.delete(key);
      joined.controller.abort();
    };
    if (signal.aborted) leave();
    else {
      signal.addEventListener('abort', leave, { once: true });
      const stopListening = () => signal.removeEventListener('abort', leave);
      joined.promise.then(stopListening, stopListening);
    }
    return { promise: joined.promise, leader };
  }

  /** Flights running now. */
  get size(): number {
    return this.flights.size;
  }
}
