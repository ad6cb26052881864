import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The most contexts the pool may keep (PAGESHOT_POOL_MAX_CONTEXTS's upper bound). */
export const MAX_POOL_CONTEXTS = 1_000;

/**
 * PAGESHOT_POOL_CONTEXT_MB's default: what one idle warm context adds to Chromium, in MB
 * of PSS summed over its process tree (bench/pool-memory.ts, Chromium 156, 2 cores): the
 * slope over 0…32 idle contexts, each reset after one capture, was 60 MB for a small page
 * and 65 MB for a heavy one (20,000 nodes, 40 MB of JS objects) once the reset has V8
 * collect the old document's garbage (171 MB without). Each context keeps two renderer
 * processes. RSS says ~300 MB per context, but it counts Chromium's shared pages once per
 * process, so it would size the pool five times too small.
 */
export const DEFAULT_POOL_CONTEXT_MB = 64;

/**
 * PAGESHOT_POOL_MEMORY_SHARE's default: a quarter of the memory for idle contexts. The
 * rest is for what cannot wait: the pages being captured (a heavy page takes hundreds of
 * MB while it renders, and there are 2 × cores of them), Chromium itself (~240 MB),
 * PageShot's Node process, and the machine's other work. On 24 GiB that is 96 contexts:
 * one warm context each for 96 recent callers; in a 2 GiB container, 8.
 */
export const DEFAULT_POOL_MEMORY_SHARE = 0.25;

/**
 * cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX × page size, e.g.
 * 9223372036854771712); anything from 2^60 bytes up is read as no limit.
 */
const UNLIMITED_FROM = 2 ** 60;

/** Reads a file, or undefined when it is not there or not readable. */
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A limit file's value in bytes; undefined for "max", unlimited, or unreadable. */
function readLimit(file: string): number | undefined {
  const text = readText(file)?.trim();
  if (!text || !/^\d+$/.test(text)) return undefined; // v2 writes "max" when there is none
  const bytes = Number(text);
  return bytes > 0 && bytes < UNLIMITED_FROM ? bytes : undefined;
}

/**
 * The smallest limit among `dir/file` and the same file in each folder above `dir`, up
 * to `mount`: a cgroup is bound by its ancestors' limits too. Inside a container the
 * path /proc/self/cgroup shows may be the host's while the mount shows the container's
 * own cgroup as its root; walking up finds the limit either way.
 */
function smallestUpTo(mount: string, cgroupPath: string, file: string): number | undefined {
  let best: number | undefined;
  let dir = path.join(mount, cgroupPath);
  for (;;) {
    const limit = readLimit(path.join(dir, file));
    if (limit !== undefined) best = best === undefined ? limit : Math.min(best, limit);
    if (dir === mount || !dir.startsWith(mount)) return best;
    dir = path.dirname(dir);
  }
}

/**
 * The memory limit of this process's cgroup in bytes (v2 `memory.max`, v1
 * `memory.limit_in_bytes`, the smaller when a hybrid machine has both), or undefined
 * when none is set. `root` is the file-system root to read under (tests pass a fake
 * tree). Never throws.
 */
export function cgroupMemoryLimit(root = '/'): number | undefined {
  const membership = readText(path.join(root, 'proc/self/cgroup'));
  if (!membership) return undefined;
  const limits: number[] = [];
  for (const line of membership.split('\n')) {
    // "hierarchy-id:controllers:path"; the path itself may contain ':'.
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, cgroupPath] = match as unknown as [string, string, string, string];
    let limit: number | undefined;
    if (id === '0' && controllers === '') {
      limit = smallestUpTo(path.join(root, 'sys/fs/cgroup'), cgroupPath, 'memory.max');
    } else if (controllers.split(',').includes('memory')) {
      limit = smallestUpTo(path.join(root, 'sys/fs/cgroup/memory'), cgroupPath, 'memory.limit_in_bytes');
    }
    if (limit !== undefined) limits.push(limit);
  }
  return limits.length ? Math.min(...limits) : undefined;
}

/**
 * Memory this process may use in bytes: the machine's, or its cgroup's limit when that
 * is smaller (a container's).
 */
export function availableMemoryBytes(root = '/', totalBytes = os.totalmem()): number {
  const limit = cgroupMemoryLimit(root);
  return limit === undefined ? totalBytes : Math.min(totalBytes, limit);
}

/** What the pool's default size is computed from. */
export interface PoolSizing {
  /** Bytes available to this process (see availableMemoryBytes). */
  availableBytes: number;
  /** Share of them warm contexts may hold (0–1). */
  memoryShare: number;
  /** What one idle warm context holds, in MB. */
  contextMb: number;
  /** Captures at once: the pool never defaults below this (each needs a context). */
  maxConcurrency: number;
  /** Upper bound of the result (PAGESHOT_POOL_MAX_CONTEXTS's own upper bound). */
  ceiling: number;
}

/**
 * The warm pool's default size: as many idle contexts as fit in `memoryShare` of the
 * available memory at `contextMb` each, at least one per concurrent capture, at most
 * `ceiling`.
 */
export function poolSizeForMemory(sizing: PoolSizing): number {
  const fit = Math.floor((sizing.availableBytes * sizing.memoryShare) / (sizing.contextMb * 1024 * 1024));
  return Math.min(sizing.ceiling, Math.max(sizing.maxConcurrency, fit));
}
