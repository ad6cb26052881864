/** Milliseconds per named phase of one capture, in the order they ran. */
export type PhaseTimings = Array<{ name: string; ms: number }>;

/** Times the phases of one capture, for the answer's `Server-Timing` header. */
export class PhaseTimer {
  readonly timings: PhaseTimings = [];

  /** Runs `step` and records how long it took under `name` (also when it fails). */
  async time<T>(name: string, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await step();
    } finally {
      this.timings.push({ name, ms: Math.round(performance.now() - started) });
    }
  }
}
