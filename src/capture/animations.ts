import { evaluateWithin, framesOf } from './frames.js';
import type { PooledContext } from './pooled-context.js';

/** Frames brought to rest, main frame first: a page of hundreds of iframes costs no more. */
const MAX_FRAMES = 30;
/** How long one frame may take to answer. */
const FRAME_WAIT_MS = 500;

/**
 * Style that keeps the page still from now on: text carets are invisible (a blinking
 * caret is the commonest difference between two captures of the same form; a field may
 * take its autofocus only after this runs, so this part is always added) and, on a page
 * that was moving, transitions that start later take no time. Both rules name few
 * elements, so adding them does not make Chromium restyle the whole page.
 */
const CARET_STYLE = 'input,textarea,[contenteditable]{caret-color:transparent!important}';
const TRANSITION_STYLE = '*,*::before,*::after{transition-duration:0s!important;transition-delay:0s!important}';

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
 * On a page that is already still this costs one round trip and a small style sheet.
 */
export async function freezeAnimations(pooled: PooledContext): Promise<void> {
  const source = `(${bringToRest.toString()})(${JSON.stringify([CARET_STYLE, TRANSITION_STYLE])})`;
  const [main, ...children] = framesOf(pooled.page, MAX_FRAMES);
  // Bounded per frame: an iframe whose document never arrives has no context to run in,
  // and a frame busy in a loop never answers; neither may hold the capture. The main
  // frame goes straight over CDP, a third of the cost of a Playwright evaluation.
  await Promise.all([
    main && evaluateMainWithin(pooled, source, FRAME_WAIT_MS),
    ...children.map((frame) => evaluateWithin(frame, source, undefined, FRAME_WAIT_MS)),
  ]);
  // No wait for a frame here: the capture itself makes Chromium paint the state as it now is.
}

/** Runs `source` in the main frame's page world; gives up silently after `ms`. */
async function evaluateMainWithin(pooled: PooledContext, source: string, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  const work = pooled.cdp.send('Runtime.evaluate', { expression: source, returnByValue: true }).then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([work, late]);
  clearTimeout(timer);
}

/** In a frame: every animation to its end (or cancelled when endless), carets hidden, and transitions off if anything moved. */
const bringToRest = ([caretCss, transitionCss]: [string, string]): void => {
  let animations: Animation[] = [];
  try {
    animations = document.getAnimations();
  } catch {
    // The page replaced what is needed: it stays as it is.
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
  try {
    const style = document.createElement('style');
    style.textContent = animations.length > 0 ? caretCss + transitionCss : caretCss;
    (document.head ?? document.documentElement).appendChild(style);
  } catch {
    // The page removed or replaced what is needed: its transitions and caret stay.
  }
};
