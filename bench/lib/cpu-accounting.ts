/**
 * Where the CPU goes while a benchmark runs, from /proc (Linux): the whole machine's busy
 * time, and one server's process tree split by the kind of process (Node, Chromium's
 * browser process, its renderers, its GPU process, the rest).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU figures (USER_HZ: 100 on every Linux build Node runs on). */
const TICKS_PER_SECOND = 100;

/** The machine's CPU time so far, in ms summed over cores: busy (user + system + irq) and system alone. */
export interface MachineCpu {
  busyMs: number;
  systemMs: number;
}

/** Reads the first line of /proc/stat; zeros where there is none. */
export function machineCpu(): MachineCpu {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    const toMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
    return { busyMs: toMs(user + nice + system + irq + softirq + steal), systemMs: toMs(system + irq + softirq) };
  } catch {
    return { busyMs: 0, systemMs: 0 };
  }
}

/** The kinds of process a PageShot server's CPU is split into. */
export const PROCESS_KINDS = ['node', 'browser', 'renderer', 'gpu', 'other'] as const;
export type ProcessKind = (typeof PROCESS_KINDS)[number];

/** CPU ms so far per kind of process in one process tree. */
export type TreeCpu = Record<ProcessKind, number>;

interface ProcEntry {
  pid: number;
  ppid: number;
  /** utime + stime of the process, and cutime + cstime of its children already reaped, in ms. */
  ownMs: number;
  reapedChildrenMs: number;
  kind: ProcessKind;
}

/** Chromium's `--type=` decides the kind; the tree's root (the server) is Node. */
function kindOf(pid: number, root: number): ProcessKind {
  if (pid === root) return 'node';
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return 'other';
  }
  const type = /--type=([a-z-]+)/.exec(cmdline)?.[1];
  if (type === undefined) return /chrom/.test(cmdline) ? 'browser' : 'other';
  if (type === 'renderer') return 'renderer';
  if (type === 'gpu-process') return 'gpu';
  // The zygote forks every renderer and reaps the ones that exit (fresh contexts), so
  // the CPU of its reaped children is renderers' CPU: counted there (see treeCpu).
  if (type === 'zygote') return 'renderer';
  return 'other';
}

function readEntry(pid: number, root: number): ProcEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = (index: number) => Number(fields[index]);
    const toMs = (value: number) => (value * 1000) / TICKS_PER_SECOND;
    return {
      pid,
      ppid: ticks(1),
      ownMs: toMs(ticks(11) + ticks(12)),
      reapedChildrenMs: toMs(ticks(13) + ticks(14)),
      kind: kindOf(pid, root),
    };
  } catch {
    return undefined; // it exited while we looked
  }
}

/**
 * CPU ms so far of `root` and every process under it, by kind. A renderer that exited is
 * counted through its parent (the zygote) once reaped; the root's own reaped children
 * (a Chromium that exited) are left out, since they belong to no running scenario.
 */
export function treeCpu(root: number): TreeCpu {
  const entries = new Map<number, ProcEntry>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readEntry(Number(name), root);
    if (entry) entries.set(entry.pid, entry);
  }
  const children = new Map<number, number[]>();
  for (const entry of entries.values()) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry.pid]);
  const totals: TreeCpu = { node: 0, browser: 0, renderer: 0, gpu: 0, other: 0 };
  const stack = [root];
  while (stack.length > 0) {
    const entry = entries.get(stack.pop()!);
    if (!entry) continue;
    totals[entry.kind] += entry.ownMs + (entry.pid === root ? 0 : entry.reapedChildrenMs);
    stack.push(...(children.get(entry.pid) ?? []));
  }
  return totals;
}

/** `after − before`, kind by kind. */
export function treeCpuSince(before: TreeCpu, after: TreeCpu): TreeCpu {
  const delta = { ...after };
  for (const kind of PROCESS_KINDS) delta[kind] = after[kind] - before[kind];
  return delta;
}
