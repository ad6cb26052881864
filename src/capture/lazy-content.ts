import type { CaptureLimits } from '../config.js';
import type { PooledContext } from './pooled-context.js';

/** Share of the time left that scrolling may use; the rest is for settling and the picture. */
const SCROLL_SHARE = 0.5;
/** Longest scroll through a page, however generous the deadline. */
const MAX_SCROLL_MS = 10_000;
/** Longest wait for images and the network to settle after the scroll. */
const MAX_SETTLE_MS = 3_000;
/** How much longer than its budget a step in the page may take before it is left behind. */
const GRACE_MS = 1_000;
/** Network quiet for this long counts as settled. */
const QUIET_MS = 300;

/**
 * Brings lazy content in the way a reader does: scrolls through the page one viewport
 * at a time (each step waits two frames, so `loading="lazy"` images and
 * IntersectionObservers see it), down to the page's end or the full-page height cap,
 * waits for the images now in the document to decode and for the network to be quiet,
 * then returns to the top. Every part is bounded by the capture's deadline; a page that
 * grows forever (infinite scroll) stops at the cap.
 */
/*
 * The functions that run in the page are arrows kept in constants and self-contained:
 * they are sent as source, and the test runner's transpiler wraps named inner functions
 * in a helper (`__name`) that does not exist in the page.
 */
export async function scrollThrough(pooled: PooledContext, limits: CaptureLimits, deadline: number): Promise<void> {
  const started = Date.now();
  const scrollMs = Math.min(MAX_SCROLL_MS, Math.max(0, (deadline - Date.now()) * SCROLL_SHARE));
  // In PageShot's own world (a page cannot replace its timers), and bounded from here
  // too: whatever happens in the page, the capture goes on with the picture as it is.
  await within(pooled.evaluateIsolated(stepThroughPage, [limits.maxFullPageHeight, scrollMs] as const), scrollMs + GRACE_MS);
  const settleMs = Math.min(MAX_SETTLE_MS, Math.max(0, (deadline - Date.now()) * SCROLL_SHARE));
  await Promise.all([
    within(pooled.evaluateIsolated(awaitImages, [limits.maxFullPageHeight, settleMs] as const), settleMs + GRACE_MS),
    pooled.networkQuiet(QUIET_MS, settleMs, started),
  ]);
  await within(pooled.evaluateIsolated(backToTop, null), GRACE_MS);
}

/** Waits for `step` for at most `ms`; a failed or late step is left behind, not thrown. */
async function within(step: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  step.catch(() => undefined);
  await Promise.race([step.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** In the page: one viewport down per two frames, until the end, the cap, or the time is up. */
const stepThroughPage = async ([maxHeight, budgetMs]: readonly [number, number]): Promise<void> => {
  const until = performance.now() + budgetMs;
  const step = Math.max(100, Number(window.innerHeight) || 720);
  for (let y = step; performance.now() < until; y += step) {
    const height = Math.min(Number(document.scrollingElement?.scrollHeight) || 0, maxHeight);
    if (y >= height) break;
    window.scrollTo(0, y);
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  }
};

/**
 * In the page: waits (at most `budgetMs`) for the images above the height cap that are
 * still loading to load and decode (lazy ones beyond the cap never will).
 */
const awaitImages = async ([maxHeight, budgetMs]: readonly [number, number]): Promise<void> => {
  const pending = Array.from(document.images)
    .filter((image) => !image.complete && image.getBoundingClientRect().top + window.scrollY < maxHeight)
    .map((image) => image.decode().catch(() => undefined));
  await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, budgetMs))]);
};

/** In the page: back to the top, then two frames so sticky headers and the like are laid out there. */
const backToTop = async (): Promise<void> => {
  window.scrollTo(0, 0);
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
};
