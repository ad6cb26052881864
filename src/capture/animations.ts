import { evaluateWithin, framesOf } from './frames.js';
import type { PooledContext } from './pooled-context.js';

/** Frames brought to rest, main frame first: a page of hundreds of iframes costs no more. */
const MAX_FRAMES = 30;
/** How long one frame may take to answer. */
const FRAME_WAIT_MS = 500;

/**
 * Style that keeps the page still from now on: transitions that start later take no
 * time, and text carets are invisible (a blinking caret is the commonest difference
 * between two captures of the same form).
 */
const STILL_STYLE =
  '*,*::before,*::after{transition-duration:0s!important;transition-delay:0s!important;caret-color:transparent!important}';

/**
 * Brings every frame of the page to rest just before the picture: CSS animations,
 * transitions and Web Animations with an end jump to it (a 2 s fade-in is shown faded
 * in, in place); endless ones (spinners, marquees) are cancelled, which shows the
 * element as it is without the animation; carets stop blinking. With `prefers-reduced-
 * motion: reduce` emulated from the start (emulation.ts), two captures of the same page
 * are the same image. Animations driven by scripts frame by frame are not reachable.
 *
 * A frame whose scripts broke the DOM APIs used here is left as it is: each step is
 * guarded, and a frame that is gone, busy or not yet loaded does not fail the capture.
 */
export async function freezeAnimations(pooled: PooledContext): Promise<void> {
  // Bounded per frame: an iframe whose document never arrives has no context to run in,
  // and a frame busy in a loop never answers; neither may hold the capture.
  await Promise.all(framesOf(pooled.page, MAX_FRAMES).map((frame) => evaluateWithin(frame, bringToRest, STILL_STYLE, FRAME_WAIT_MS)));
  // No wait for a frame here: the capture itself makes Chromium paint the state as it now is.
}

/** In a frame: the still style, then every animation to its end (or cancelled when endless). */
const bringToRest = (css: string): void => {
  try {
    const style = document.createElement('style');
    style.textContent = css;
    (document.head ?? document.documentElement).appendChild(style);
  } catch {
    // The page removed or replaced what is needed: its transitions stay.
  }
  let animations: Animation[] = [];
  try {
    animations = document.getAnimations();
  } catch {
    return;
  }
  for (const animation of animations) {
    try {
      const end = animation.effect?.getComputedTiming().endTime;
      if (typeof end === 'number' && Number.isFinite(end)) animation.finish();
      else animation.cancel();
    } catch {
      // One broken animation must not keep the others moving.
    }
  }
};
