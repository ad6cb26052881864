/**
 * The real `pageshot` command (src/cli.ts through tsx) as a child process, from any
 * working directory: what a user at a shell gets, exit status and both streams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ENV } from './harness.js';

/** The repository's root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'src/cli.ts');
// An absolute loader, so the command also runs from a directory outside the repository.
const TSX = import.meta.resolve('tsx');
const RUN_TIMEOUT_MS = 60_000;

/** How a command ended and what it printed. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Where and with what environment to run; a variable set to undefined is removed. */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** Starts `pageshot …` with TEST_ENV plus `options.env`; its stdout and stderr are pipes. */
export function startCli(args: string[], options: CliOptions = {}): ChildProcess {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...TEST_ENV, ...options.env })) {
    if (value !== undefined) env[name] = value;
  }
  // A command that should have ended at once but serves forever is ended, and fails its test.
  return spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: options.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS });
}

/** Collects a started command's output until it exits. */
export function finished(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `pageshot …` to its end. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return finished(startCli(args, options));
}
