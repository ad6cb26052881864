import type { Frame, Page } from 'playwright-core';

/**
 * Runs `fn` in `frame` and answers its result, or undefined when the frame fails (it
 * navigated or was detached), or does not answer within `ms` (a frame busy in a loop).
 * Never throws: a frame is the page's, and nothing it does may fail the capture here.
 */
export async function evaluateWithin<A, R>(
  frame: Frame,
  fn: string | ((arg: A) => R | Promise<R>),
  arg: A,
  ms: number,
): Promise<R | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(1, ms));
  });
  // A string is run as a script by the debugger protocol, which the page's CSP does not govern.
  // `as string`: our arguments are plain data, for which Playwright's Unboxed<A> is A itself.
  const work = frame.evaluate<R, A>(fn as string, arg).catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The page's frames, main frame first, at most `max` of them: a page with hundreds of
 * iframes must not make every step here cost hundreds of round trips.
 */
export function framesOf(page: Page, max: number): Frame[] {
  return page.frames().filter((frame) => !frame.isDetached()).slice(0, max);
}

/** Milliseconds left before `deadline`, at most `cap`, at least 0. */
export function timeLeft(deadline: number, cap: number): number {
  return Math.max(0, Math.min(cap, deadline - Date.now()));
}
