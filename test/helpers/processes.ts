import { execFileSync } from 'node:child_process';

/** One row of `ps`. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Every process on the machine, read with `ps`. */
export function listProcesses(): ProcessInfo[] {
  const output = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,comm='], { encoding: 'utf8' });
  return output
    .trim()
    .split('\n')
    .map((line) => {
      const [pid, ppid, state, ...command] = line.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), state: state ?? '', command: command.join(' ') };
    });
}

/** `root` and all processes below it. */
export function descendants(root: number, all = listProcesses()): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of all.filter((candidate) => candidate.ppid === parent)) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Chromium browser processes started directly by `parent` (Playwright spawns them). */
export function chromiumChildren(parent: number): ProcessInfo[] {
  return listProcesses().filter((info) => info.ppid === parent && /chrom/i.test(info.command));
}

/** Processes of `pids` that still exist, zombies included. */
export function stillPresent(pids: number[]): ProcessInfo[] {
  const wanted = new Set(pids);
  return listProcesses().filter((info) => wanted.has(info.pid));
}

/** Polls `check` every 50 ms until it returns true, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
