import os from 'node:os';

interface CpuTimes {
  idle: number;
  total: number;
}

function readTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, irq, idle: cpuIdle } = cpu.times;
    idle += cpuIdle;
    total += user + nice + sys + irq + cpuIdle;
  }
  return { idle, total };
}

/**
 * Machine-wide CPU use (Chromium's processes included), smoothed so that one noisy
 * reading cannot shed load: every `intervalMs` it takes the busy share since the last
 * sample and reports the mean of the last `window` samples.
 */
export class CpuSampler {
  private last = readTimes();
  private readonly samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = 1000,
    private readonly window = 3,
  ) {}

  /** Starts sampling in the background; the timer does not keep the process alive. */
  start(): this {
    this.timer ??= setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Smoothed CPU use in percent, 0–100. */
  percent(): number {
    if (this.samples.length === 0) return 0;
    return this.samples.reduce((sum, value) => sum + value, 0) / this.samples.length;
  }

  private sample(): void {
    const now = readTimes();
    const total = now.total - this.last.total;
    const idle = now.idle - this.last.idle;
    this.last = now;
    if (total <= 0) return;
    this.samples.push(Math.min(100, Math.max(0, (100 * (total - idle)) / total)));
    if (this.samples.length > this.window) this.samples.shift();
  }
}
