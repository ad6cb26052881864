/**
 * The capture bench's report: the results table, Chromium's memory per scenario, and the
 * ratios against the Playwright baseline with their goals (see capture.ts for what is
 * measured and how).
 */
import os from 'node:os';
import type { ProcessMemory } from '../src/capture/process-memory.js';

/** Share of 503 answers in a run from which its shots/s says little (and, at c=4, the variant runs in auto). */
export const DISTORTING_503_SHARE = 0.05;

/** Figures of one measured run (one scenario at one concurrency). */
export interface RunResult {
  scenario: string;
  concurrency: number;
  ok: number;
  failed: number;
  busy503: number;
  failures: Record<string, number>;
  p50: number | null;
  p99: number | null;
  shotsPerSec: number;
  wallMs: number;
  /** True when 503s were so many that shots/s says little (see DISTORTING_503_SHARE). */
  distorted: boolean;
  /** p50 size of the images returned, in bytes. */
  imageBytesP50: number | null;
  /** PageShot only: p50 of its own queue wait and render time (Server-Timing). */
  serverQueueP50?: number | null;
  serverRenderP50?: number | null;
  /** Playwright only: p50 of context.close(). */
  closeP50?: number | null;
  /** The whole machine's CPU per successful shot (/proc/stat: user + system + irq), and its system part, in ms. */
  cpuMsPerShot?: number;
  systemMsPerShot?: number;
  /** PageShot in its own process only: its process tree's CPU per shot by kind (node, browser, renderer, gpu, other), in ms. */
  cpuSplitMsPerShot?: Record<string, number>;
  /** PageShot only: p50 of each Server-Timing phase (navigation, waits, capture), in ms. */
  phasesP50?: Record<string, number>;
}

/** Chromium's memory with the pool's share of it. */
export interface PoolMemory {
  /** Chromium's process tree right after start, before any capture (no context). */
  empty?: ProcessMemory;
  /** The same after the scenario, with the pool's idle contexts reset. */
  after?: ProcessMemory;
  /** Contexts the pool held then. */
  contexts: number;
  /** (after − empty) / contexts, PSS and RSS, in MB. */
  perContextPssMb?: number;
  perContextRssMb?: number;
}

/** Pads cells into aligned columns. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** Formats a number of milliseconds, or "-" when there is none. */
function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : value.toFixed(1);
}

/** Prints the results table and the failure breakdown. */
export function printTable(runs: RunResult[]): void {
  const rows = runs.map((run) => [
    run.scenario,
    String(run.concurrency),
    `${run.ok}/${run.failed}`,
    String(run.busy503),
    ms(run.p50),
    ms(run.p99),
    `${run.shotsPerSec.toFixed(2)}${run.distorted ? '*' : ' '}`,
    run.cpuMsPerShot === undefined ? '-' : `${run.cpuMsPerShot} (${run.systemMsPerShot})`,
  ]);
  console.log(table(['scenario', 'c', 'ok/failed', '503 busy', 'p50 ms', 'p99 ms', 'shots/s ', 'CPU ms/shot (sys)'], rows));
  console.log('  CPU ms/shot: the whole machine (all cores, /proc/stat) over the measured phase, per successful shot; bench client included.');
  if (runs.some((run) => run.distorted)) {
    console.log(
      `  * ${Math.round(DISTORTING_503_SHARE * 100)}% or more of the shots were 503 busy: the refused worker burned the shot budget, ` +
        'so this shots/s covers only a short phase and is not a throughput figure.',
    );
  }
  if (runs.some((run) => run.scenario.includes('maxconc=4'))) {
    console.log(`  maxconc=4: PageShot started with PAGESHOT_MAX_CONCURRENCY=4 (its default is 2 × cores = ${2 * os.availableParallelism()}).`);
  }
  console.log('\nDetails:');
  for (const run of runs) console.log(`  ${`${run.scenario} c=${run.concurrency}`.padEnd(28)} ${runDetails(run)}`);
}

/** One line of secondary figures for a run: failures, server timing, image size, close time. */
function runDetails(run: RunResult): string {
  const parts: string[] = [];
  const reasons = Object.entries(run.failures);
  if (reasons.length) parts.push(`failures: ${reasons.map(([reason, count]) => `${count}× ${reason}`).join(', ')}`);
  if (run.serverQueueP50 !== undefined) {
    parts.push(`server queue p50 ${ms(run.serverQueueP50)} ms, render p50 ${ms(run.serverRenderP50)} ms`);
  }
  if (run.phasesP50) parts.push(`phases p50 ${Object.entries(run.phasesP50).map(([phase, value]) => `${phase} ${value}`).join(', ')} ms`);
  if (run.cpuSplitMsPerShot) {
    parts.push(`CPU/shot by process ${Object.entries(run.cpuSplitMsPerShot).map(([kind, value]) => `${kind} ${value}`).join(', ')} ms`);
  }
  if (run.closeP50 !== undefined) parts.push(`context.close() p50 ${ms(run.closeP50)} ms (not in latency)`);
  if (run.imageBytesP50 !== null) parts.push(`PNG p50 ${Math.round(run.imageBytesP50 / 1024)} KiB`);
  parts.push(`measured phase ${run.wallMs} ms`);
  return parts.join('; ');
}

/** Prints Chromium's memory after each PageShot scenario, and what each warm context adds. */
export function printMemory(statuses: Record<string, Record<string, unknown>>): void {
  const rows: string[][] = [];
  const cell = (value: number | undefined) => (value === undefined ? '-' : String(value));
  for (const [scenario, status] of Object.entries(statuses)) {
    const memory = status.memory as PoolMemory | undefined;
    if (!memory) continue;
    rows.push([
      scenario,
      String(memory.contexts),
      `${cell(memory.empty?.pssMb)} -> ${cell(memory.after?.pssMb)}`,
      `${cell(memory.empty?.rssMb)} -> ${cell(memory.after?.rssMb)}`,
      cell(memory.perContextPssMb),
      cell(memory.perContextRssMb),
    ]);
  }
  if (rows.length === 0) return;
  console.log("\nChromium's memory (MB, whole process tree, from /proc): at start -> after the scenario with its contexts idle and reset");
  console.log(table(['scenario', 'contexts', 'PSS', 'RSS', 'PSS/context', 'RSS/context'], rows));
  console.log('  PSS splits shared pages between the processes that share them (what the tree really holds); RSS counts them in each.');
}

/** One goal check: a PageShot figure over a baseline figure (Playwright's, or PageShot's own), against a threshold. */
export interface RatioCheck {
  scenario: string;
  metric: string;
  ratio: number | null;
  goal: string;
  /** null when it cannot be told: no successful shots, or a run distorted by 503s. */
  met: boolean | null;
  note?: string;
}

/** A check of `value` against `threshold` (`<=` or `>=`), rounded to two decimals. */
function check(scenario: string, metric: string, value: number | null, direction: '<=' | '>=', threshold: number, run?: RunResult): RatioCheck {
  const ratio = value === null || !Number.isFinite(value) ? null : Math.round(value * 100) / 100;
  const met = ratio === null ? null : direction === '<=' ? ratio <= threshold : ratio >= threshold;
  const result: RatioCheck = { scenario, metric, ratio, goal: `${direction} ${threshold}`, met };
  if (run?.distorted) {
    result.met = null;
    result.note = `not meaningful: ${run.busy503} of ${run.ok + run.failed} shots were 503 busy, leaving ${run.ok} ok shots in ${run.wallMs} ms`;
  }
  return result;
}

/**
 * The goals of this bench, each from this run's figures: PageShot's warm scenario against
 * the Playwright baseline (the better of its runs) and against itself (throughput when
 * captures overlap, CPU per picture); many callers and fresh contexts against the baseline.
 */
export function ratios(runs: RunResult[]): RatioCheck[] {
  const find = (scenario: string, concurrency: number) => runs.find((run) => run.scenario === scenario && run.concurrency === concurrency);
  // With two baseline runs (before and after PageShot's), the better figure of each is the
  // baseline: a baseline slowed by other work on the machine must not flatter PageShot.
  const baselines = runs.filter((run) => run.scenario.startsWith('playwright'));
  const base1 = baselines.filter((run) => run.concurrency === 1 && run.p50 !== null).sort((a, b) => a.p50! - b.p50!)[0];
  const base4 = baselines.filter((run) => run.concurrency === 4).sort((a, b) => b.shotsPerSec - a.shotsPerSec)[0];
  const overBase1 = (run: RunResult | undefined) => (run?.p50 != null && base1?.p50 ? run.p50 / base1.p50 : null);
  const overBase4 = (run: RunResult | undefined) => (run && base4?.shotsPerSec ? run.shotsPerSec / base4.shotsPerSec : null);
  const checks: RatioCheck[] = [];
  const scenarios = [...new Set(runs.map((run) => run.scenario))].filter((scenario) => !scenario.startsWith('playwright'));
  for (const scenario of scenarios) {
    const c1 = find(scenario, 1);
    const c4 = find(scenario, 4);
    if (scenario.includes('fresh')) {
      // A fresh context is Playwright's own work plus the guard: no slower than it.
      if (c1) checks.push(check(scenario, 'p50 c=1 / playwright', overBase1(c1), '<=', 1, c1));
      if (c4) checks.push(check(scenario, 'shots/s c=4 / playwright', overBase4(c4), '>=', 1, c4));
      continue;
    }
    if (/\d+ callers/.test(scenario)) {
      // Each caller needs its own warm context.
      if (c4) checks.push(check(scenario, 'shots/s c=4 / playwright', overBase4(c4), '>=', 1.5, c4));
      continue;
    }
    if (c1) checks.push(check(scenario, 'p50 c=1 / playwright', overBase1(c1), '<=', 0.5, c1));
    if (c4) checks.push(check(scenario, 'shots/s c=4 / playwright', overBase4(c4), '>=', 2, c4));
    if (c1 && c4) checks.push(check(scenario, 'shots/s c=4 / own c=1', c1.shotsPerSec ? c4.shotsPerSec / c1.shotsPerSec : null, '>=', 1.15, c4));
    if (c1?.cpuMsPerShot !== undefined) checks.push(check(scenario, 'CPU ms/shot c=1', c1.cpuMsPerShot, '<=', 200));
    if (c1?.cpuMsPerShot && c4?.cpuMsPerShot !== undefined) {
      checks.push(check(scenario, 'CPU/shot c=4 / c=1', c4.cpuMsPerShot / c1.cpuMsPerShot, '<=', 1.1, c4));
    }
  }
  return checks;
}

/** Prints the goal checks, plainly. */
export function printRatios(checks: RatioCheck[]): void {
  console.log('\nGoals (against the plain-playwright baseline of this run, the better figure of its runs, or against PageShot itself):');
  for (const item of checks) {
    const verdict = item.note ?? (item.met === null ? 'cannot tell (no successful shots)' : item.met ? 'goal MET' : 'goal NOT met');
    console.log(`  ${item.scenario.padEnd(22)} ${item.metric.padEnd(26)} ${String(item.ratio ?? '-').padStart(7)}  goal ${item.goal}: ${verdict}`);
  }
}
