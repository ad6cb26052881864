import type { PooledContext } from './pooled-context.js';

const RESET_TIMEOUT_MS = 5_000;

/** JS heap (bytes) from which the reset has V8 collect garbage before weighing it. */
const COLLECT_GARBAGE_FROM_BYTES = 16 * 1024 * 1024;

/**
 * Wipes every kind of state a capture can leave in a context, so the same caller's
 * next capture starts as if in a new one. Returns false when the context cannot be
 * trusted clean (or has grown too big) and must be closed instead of reused.
 *
 * What is removed, and how:
 * - popups and extra pages: closed;
 * - running scripts, timers, open connections: the page goes to about:blank first;
 * - localStorage, sessionStorage, IndexedDB, Cache Storage, service worker
 *   registrations, file systems, cookies of each origin seen:
 *   CDP `Storage.clearDataForOrigin` with `storageTypes: "all"`;
 * - every other cookie: `clearCookies()`; permissions: `clearPermissions()`;
 * - HTTP cache: CDP `Network.clearBrowserCache`;
 * - emulation and header overrides: not reset here, because every capture sets all of
 *   them explicitly before it navigates (see emulation.ts);
 * - HTTP auth credentials cannot be cleared over CDP: a context whose page sent a
 *   request with credentials in its URL is marked tainted and closed instead.
 */
export async function resetForReuse(pooled: PooledContext, maxHeapBytes: number): Promise<boolean> {
  if (pooled.closed || pooled.tainted) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), RESET_TIMEOUT_MS);
  });
  try {
    return await Promise.race([wipe(pooled, maxHeapBytes), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function wipe(pooled: PooledContext, maxHeapBytes: number): Promise<boolean> {
  const { context, page, cdp } = pooled;
  await Promise.all(context.pages().filter((other) => other !== page).map((other) => other.close()));
  await page.goto('about:blank', { timeout: RESET_TIMEOUT_MS });
  // A page's unload handlers run during that navigation and may still have made requests.
  const origins = [...pooled.origins];
  pooled.origins.clear();
  await Promise.all(
    origins.map((origin) => cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' })),
  );
  await Promise.all([context.clearCookies(), context.clearPermissions(), cdp.send('Network.clearBrowserCache')]);
  if (pooled.tainted) return false;
  return (await heapAfterCollecting(pooled)) <= maxHeapBytes;
}

/**
 * The page's JS heap in bytes once the previous document's garbage is gone. On
 * about:blank that document's objects are garbage, but V8 frees them only when it next
 * collects: without collecting, the heap grows capture after capture (measured: a page of
 * 20,000 nodes and 40 MB of objects read 35, 75, 104 … 274 MB over eight reuses, so the
 * size check closed the context for garbage), and an idle context holds it all (171 MB
 * PSS per idle context instead of 65). A small heap is left alone: collecting costs the
 * renderer a few ms of CPU even when there is nothing to free.
 */
async function heapAfterCollecting(pooled: PooledContext): Promise<number> {
  const { cdp } = pooled;
  const before = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  if (before.usedSize < COLLECT_GARBAGE_FROM_BYTES) return before.usedSize;
  await cdp.send('HeapProfiler.collectGarbage');
  const after = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  return after.usedSize;
}
