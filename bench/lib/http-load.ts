/**
 * HTTP load for benchmarks: `wrk` when the machine has it, else autocannon, in a child
 * process (so the load generator never shares an event loop with a server under test),
 * servers in child processes of their own, and their CPU read from /proc while the load
 * runs. wrk is the default because autocannon, a Node program, tops out near 9k req/s
 * on 2 cores: a bare route measured with it is capped by the client, not the server,
 * and a ratio against it flatters PageShot. BENCH_LOAD=autocannon forces autocannon.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

/** One request shape the load generator repeats. */
export interface LoadRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** What one run of the load generator reports. */
export interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU of the load generator over the run, % of one core. */
  loadCpu: number;
}

/** A run's figures with the server's CPU beside them. */
export interface RunFigures extends LoadResult {
  /** CPU of the server process over the run, % of one core. */
  serverCpu: number;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The child side: one autocannon run, its figures as JSON on stdout. */
export function runLoadGenerator(request: LoadRequest, seconds: number, connections: number): void {
  const latencies: number[] = [];
  const cpuStart = process.cpuUsage();
  const instance = autocannon(
    { url: request.url, method: request.method ?? 'GET', headers: request.headers, body: request.body, connections, duration: seconds },
    (error, result) => {
      if (error) throw error;
      const cpu = process.cpuUsage(cpuStart);
      latencies.sort((a, b) => a - b);
      const figures: LoadResult = {
        reqPerSec: result['2xx'] / result.duration,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        non2xx: result.non2xx,
        errors: result.errors,
        loadCpu: (cpu.user + cpu.system) / 1e4 / result.duration,
      };
      process.stdout.write(JSON.stringify(figures));
    },
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
}

/** CPU seconds a process has used so far (user + system), from /proc; NaN elsewhere. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The load generator this run uses: wrk when installed, unless BENCH_LOAD=autocannon. */
export function loadGeneratorName(): 'wrk' | 'autocannon' {
  if (process.env.BENCH_LOAD === 'autocannon') return 'autocannon';
  return spawnSync('wrk', ['--version']).error ? 'autocannon' : 'wrk';
}

/** CPU seconds of this process's children that have exited and been waited for (cutime + cstime). */
function reapedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/**
 * wrk's Lua script for `request`: method, headers and body, and a `done` that prints the
 * figures as one JSON line (non-2xx answers are wrk's `errors.status`).
 */
function wrkScript(request: LoadRequest): string {
  const headers = Object.entries(request.headers ?? {})
    .map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`)
    .join('\n');
  return `wrk.method = ${JSON.stringify(request.method ?? 'GET')}
${request.body === undefined ? '' : `wrk.body = ${JSON.stringify(request.body)}`}
${headers}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"status":%d,"socket":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
`;
}

/** One wrk run (one thread: the server under test gets the other core), measuring `serverPid`'s CPU meanwhile. */
function runWrk(request: LoadRequest, seconds: number, connections: number, serverPid: number): Promise<RunFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-wrk-'));
  const scriptFile = path.join(dir, 'request.lua');
  writeFileSync(scriptFile, wrkScript(request));
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', scriptFile, request.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  return watchLoad(child, serverPid).then(({ stdout, elapsed, serverCpuSeconds, loadCpuSeconds }) => {
    const line = stdout.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no figures: ${stdout.slice(0, 500)}`);
    const figures = JSON.parse(line) as { requests: number; durationUs: number; p50Us: number; p99Us: number; status: number; socket: number };
    const duration = figures.durationUs / 1e6;
    return {
      reqPerSec: (figures.requests - figures.status) / duration,
      p50: figures.p50Us / 1000,
      p99: figures.p99Us / 1000,
      non2xx: figures.status,
      errors: figures.socket,
      loadCpu: (loadCpuSeconds / elapsed) * 100,
      serverCpu: (serverCpuSeconds / elapsed) * 100,
    };
  });
}

/** What a load generator's child process printed, how long it ran, and the CPU the server and it used meanwhile. */
interface WatchedLoad {
  stdout: string;
  elapsed: number;
  serverCpuSeconds: number;
  /** CPU of the load generator once it has exited and been waited for. */
  loadCpuSeconds: number;
}

/** Collects `child`'s output until it exits (rejecting on a non-zero exit), measuring `serverPid`'s CPU meanwhile. */
function watchLoad(child: ChildProcess, serverPid: number): Promise<WatchedLoad> {
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const cpuBefore = processCpuSeconds(serverPid);
  const loadBefore = reapedChildrenCpuSeconds();
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsed = (performance.now() - startedAt) / 1000;
      const serverCpuSeconds = processCpuSeconds(serverPid) - cpuBefore;
      if (code !== 0) return reject(new Error(`the load generator exited with ${code}`));
      resolve({ stdout, elapsed, serverCpuSeconds, loadCpuSeconds: reapedChildrenCpuSeconds() - loadBefore });
    });
  });
}

/**
 * Runs one load run against `request`: wrk when installed (see loadGeneratorName), else
 * `script --load <request as JSON> <seconds> <connections>` in a child process (the
 * script must call runLoadGenerator for that form), measuring `serverPid`'s CPU meanwhile.
 */
export function runLoad(script: string, request: LoadRequest, seconds: number, connections: number, serverPid: number): Promise<RunFigures> {
  if (loadGeneratorName() === 'wrk') return runWrk(request, seconds, connections, serverPid);
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--load', JSON.stringify(request), String(seconds), String(connections)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return watchLoad(child, serverPid).then(({ stdout, elapsed, serverCpuSeconds }) => {
    // The elapsed time includes the child's start-up (~0.5 s of tsx), during which the
    // server idles: the server CPU figure is a slight underestimate, the same for both.
    const result = JSON.parse(stdout) as LoadResult;
    return { ...result, serverCpu: (serverCpuSeconds / Math.max(elapsed - 0.5, 0.1)) * 100 };
  });
}

/** A server running in a child process, and what it said when ready. */
export interface ServerChild<T> {
  process: ChildProcess;
  ready: T;
  stop(): Promise<void>;
}

/**
 * Starts `script` with `args` in a child process and waits for its `READY <json>` line on
 * stdout (the script prints it once it listens). `stop()` sends SIGTERM and waits.
 * `nodeArgs` go to Node itself (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry).
 */
export function startServerChild<T>(script: string, args: string[], nodeArgs: string[] = []): Promise<ServerChild<T>> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = /^READY (.*)$/m.exec(buffered)?.[1];
      if (line === undefined) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({
        process: child,
        ready: JSON.parse(line) as T,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code} before it was ready`)));
    child.once('error', reject);
  });
}

/** The machine's load average, for the report. */
export function loadAverage(): string {
  return os.loadavg().map((value) => value.toFixed(2)).join(' ');
}

const HEADER =
  `${'run'.padEnd(14)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}` +
  `${'srv CPU'.padStart(9)}${'load CPU'.padStart(10)}${'non-2xx'.padStart(9)}${'errors'.padStart(8)}${'µs/req'.padStart(9)}`;

/** The server's CPU per answer, in µs (srv CPU is % of one core). */
export function cpuPerRequestUs(figures: RunFigures): number {
  return (figures.serverCpu / 100 / figures.reqPerSec) * 1e6;
}

/** One line of the figures table. */
function row(label: string, f: RunFigures): string {
  const flag = f.non2xx > 0 || f.errors > 0 ? '  << not all 2xx: not valid' : '';
  return (
    `${label.padEnd(14)}${f.reqPerSec.toFixed(0).padStart(9)}${f.p50.toFixed(2).padStart(9)}${f.p99.toFixed(2).padStart(9)}` +
    `${`${f.serverCpu.toFixed(0)}%`.padStart(9)}${`${f.loadCpu.toFixed(0)}%`.padStart(10)}` +
    `${String(f.non2xx).padStart(9)}${String(f.errors).padStart(8)}${cpuPerRequestUs(f).toFixed(1).padStart(9)}${flag}`
  );
}

/** The two servers every comparison puts side by side. */
export type ServerName = 'bare' | 'pageshot';

/** How a bench compares PageShot with a bare server. */
export interface ComparisonPlan {
  /** The bench script (run again as `--load …` for each run). */
  script: string;
  requests: Record<ServerName, LoadRequest>;
  pids: Record<ServerName, number>;
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
}

/** Every run's figures, their medians, and PageShot's ratios to bare. */
export interface Comparison {
  runs: Record<ServerName, RunFigures[]>;
  medians: Record<ServerName, RunFigures>;
  /** PageShot's median req/s over bare's. */
  ratio: number;
  /** PageShot's server CPU per answer over bare's: the cost that does not depend on the load generator. */
  cpuRatio: number;
  /** False when any answer was not 2xx or failed. */
  valid: boolean;
}

/**
 * Warms both servers up (not measured), then alternates measured runs, bare then
 * PageShot, so drift hits both; prints every run and the medians.
 */
export async function compareServers(plan: ComparisonPlan): Promise<Comparison> {
  const names: ServerName[] = ['bare', 'pageshot'];
  const generator = loadGeneratorName();
  console.log(`load generator: ${generator}${generator === 'wrk' ? ' (one thread)' : ' (wrk is not installed: apt-get install wrk; autocannon tops out near 9k req/s on 2 cores, so a fast bare server is capped by it)'}`);
  console.log(`warm-up: ${plan.warmupSeconds} s each, not measured`);
  for (const name of names) await runLoad(plan.script, plan.requests[name], plan.warmupSeconds, plan.connections, plan.pids[name]);
  console.log(`\n${HEADER}`);
  const runs: Record<ServerName, RunFigures[]> = { bare: [], pageshot: [] };
  for (let round = 1; round <= plan.rounds; round++) {
    for (const name of names) {
      const figures = await runLoad(plan.script, plan.requests[name], plan.seconds, plan.connections, plan.pids[name]);
      runs[name].push(figures);
      console.log(row(`${name} #${round}`, figures));
    }
  }
  const medians = { bare: summarise(runs.bare), pageshot: summarise(runs.pageshot) };
  console.log(`\nmedian of ${plan.rounds} runs (non-2xx, errors: totals)`);
  for (const name of names) console.log(row(name, medians[name]));
  return {
    runs,
    medians,
    ratio: medians.pageshot.reqPerSec / medians.bare.reqPerSec,
    cpuRatio: cpuPerRequestUs(medians.pageshot) / cpuPerRequestUs(medians.bare),
    valid: names.every((name) => medians[name].non2xx === 0 && medians[name].errors === 0),
  };
}

/** Medians of several runs' figures (non-2xx and errors: totals). */
export function summarise(runs: RunFigures[]): RunFigures {
  const of = (pick: (run: RunFigures) => number) => median(runs.map(pick));
  const total = (pick: (run: RunFigures) => number) => runs.reduce((sum, run) => sum + pick(run), 0);
  return {
    reqPerSec: of((r) => r.reqPerSec),
    p50: of((r) => r.p50),
    p99: of((r) => r.p99),
    serverCpu: of((r) => r.serverCpu),
    loadCpu: of((r) => r.loadCpu),
    non2xx: total((r) => r.non2xx),
    errors: total((r) => r.errors),
  };
}

/**
 * Prints how the comparison came out: the CPU ratio, the req/s ratio with the goal's
 * verdict (not judged when `invalid` names a reason), and `BENCH_JSON` with every figure
 * plus `extra`.
 */
export function reportComparison(comparison: Comparison, goal: number, invalid: string | undefined, extra: Record<string, unknown>): void {
  const { runs, medians, ratio, cpuRatio } = comparison;
  const verdict = invalid ? `NOT JUDGED (${invalid})` : ratio >= goal ? 'MET' : 'NOT MET';
  console.log(`load average at end: ${loadAverage()}`);
  console.log(`server CPU per answer, pageshot/bare: ${cpuRatio.toFixed(2)}×`);
  console.log(`\nratio pageshot/bare req/s: ${ratio.toFixed(2)} (goal >= ${goal}): ${verdict}`);
  console.log(`BENCH_JSON ${JSON.stringify({ ...extra, runs, medians, ratio, cpuRatio, goal })}`);
}

/** What a comparison bench script does in each of the processes it runs as. */
export interface BenchRoles {
  main(): Promise<void>;
  servePageShot(): Promise<void>;
  serveBare(argument: string): Promise<void>;
}

/**
 * Runs the part of a comparison bench this process was started for: the load generator
 * (`--load`), one of the servers (`--serve=pageshot`, `--serve=bare <argument>`), or the
 * bench itself.
 */
export async function runBenchProcess(roles: BenchRoles): Promise<void> {
  const mode = process.argv[2];
  if (mode === '--load') {
    const [, , , request, seconds, connections] = process.argv;
    runLoadGenerator(JSON.parse(request!) as LoadRequest, Number(seconds), Number(connections));
  } else if (mode === '--serve=pageshot') {
    await roles.servePageShot();
  } else if (mode === '--serve=bare') {
    await roles.serveBare(process.argv[3]!);
  } else {
    await roles.main();
  }
}
