import { readdirSync, readFileSync } from 'node:fs';

/** Memory of a group of processes, summed. */
export interface ProcessMemory {
  /** Processes counted. */
  processes: number;
  /**
   * Proportional set size in MB: each shared page is split between the processes that
   * share it, so the sum over a process tree is what the tree really holds. The figure
   * to size things by.
   */
  pssMb: number;
  /**
   * Resident set size in MB: shared pages (Chromium's code, its shared memory between
   * browser and renderers) count once in every process, so the sum overstates the tree,
   * often by 2–3×. Kept for comparison with tools that show RSS.
   */
  rssMb: number;
}

/** A process and its parent. */
interface ProcessEntry {
  pid: number;
  ppid: number;
}

const KB_PER_MB = 1024;

/**
 * Every process's parent, from `/proc/<pid>/stat`. The command name in `stat` is in
 * parentheses and may itself hold spaces or parentheses, so the fields are read after
 * its last `)`.
 */
function listProcesses(procRoot: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`${procRoot}/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      entries.push({ pid: Number(name), ppid: Number(fields[1]) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return entries;
}

/** `roots` and every process below them (breadth first over the parent links). */
export function processTree(roots: readonly number[], procRoot = '/proc'): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of listProcesses(procRoot)) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [...roots];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Reads one `Name:   1234 kB` line of a /proc file; undefined when absent. */
function kbField(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * PSS and RSS of one process in kB, from `/proc/<pid>/smaps_rollup` (Linux 4.14+; reading
 * another user's needs root or the same user). Undefined when it cannot be read: the
 * process is gone, or it is not ours to read.
 */
export function processMemoryKb(pid: number, procRoot = '/proc'): { pssKb: number; rssKb: number } | undefined {
  try {
    const text = readFileSync(`${procRoot}/${pid}/smaps_rollup`, 'utf8');
    const pssKb = kbField(text, 'Pss');
    const rssKb = kbField(text, 'Rss');
    return pssKb === undefined || rssKb === undefined ? undefined : { pssKb, rssKb };
  } catch {
    return undefined;
  }
}

/**
 * Memory of the process trees under `roots`, summed (PSS and RSS). Processes whose
 * figures cannot be read are left out (and not counted in `processes`). Undefined where
 * there is no /proc to read (not Linux) or nothing could be read; never throws.
 */
export function treeMemory(roots: readonly number[], procRoot = '/proc'): ProcessMemory | undefined {
  try {
    let pssKb = 0;
    let rssKb = 0;
    let processes = 0;
    for (const pid of processTree(roots, procRoot)) {
      const memory = processMemoryKb(pid, procRoot);
      if (!memory) continue;
      pssKb += memory.pssKb;
      rssKb += memory.rssKb;
      processes++;
    }
    if (processes === 0) return undefined;
    return { processes, pssMb: Math.round(pssKb / KB_PER_MB), rssMb: Math.round(rssKb / KB_PER_MB) };
  } catch {
    return undefined;
  }
}

/**
 * The Chromium processes this Node process started (Playwright spawns the browser as a
 * direct child; a launcher script that `exec`s Chromium keeps that pid). Matched by the
 * executable in the command line, so other children (esbuild, a shell) are not counted.
 */
export function chromiumChildPids(parent = process.pid, procRoot = '/proc'): number[] {
  try {
    return listProcesses(procRoot)
      .filter(({ ppid }) => ppid === parent)
      .map(({ pid }) => pid)
      .filter((pid) => {
        try {
          const argv0 = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
          return /chrom(e|ium)/i.test(argv0.split('/').pop() ?? '');
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

/**
 * What the Chromium browsers started by this process hold, with every renderer, GPU and
 * utility process below them: Linux only (reads /proc), undefined elsewhere or when no
 * browser runs; never throws. Costs a scan of /proc (~1–3 ms with a few hundred
 * processes), so call it on demand, not per capture.
 */
export function chromiumMemory(parent = process.pid, procRoot = '/proc'): ProcessMemory | undefined {
  const roots = chromiumChildPids(parent, procRoot);
  return roots.length === 0 ? undefined : treeMemory(roots, procRoot);
}
