import type { Page } from 'playwright-core';
import { evaluateWithin, framesOf, timeLeft } from '../frames.js';

const MAX_FRAMES = 30;
const FRAME_WAIT_MS = 500;

/**
 * Collapses the iframes, images and media whose address a filter list refused, in every
 * frame (`display: none !important`, inline), as ad blockers do: otherwise the picture
 * shows Chromium's "this page has been blocked" frame, or a broken image, where the ad
 * was. Only elements pointing at a refused address are touched.
 */
export async function collapseRefusedElements(page: Page, sources: readonly string[], deadline: number): Promise<void> {
  if (sources.length === 0) return;
  await Promise.all(framesOf(page, MAX_FRAMES).map((frame) => evaluateWithin(frame, collapse, sources, timeLeft(deadline, FRAME_WAIT_MS))));
}

/** In the frame: hides each element whose resolved `src` (fragment aside) is one of `sources`. */
function collapse(sources: readonly string[]): void {
  const refused = new Set(sources.map((source) => source.split('#')[0]));
  try {
    for (const element of Array.from(document.querySelectorAll('iframe[src], frame[src], img, video, audio, embed[src], object[data]'))) {
      const source = (element as HTMLImageElement).currentSrc || (element as HTMLIFrameElement).src || (element as HTMLObjectElement).data || '';
      if (refused.has(String(source).split('#')[0])) (element as HTMLElement).style.setProperty('display', 'none', 'important');
    }
  } catch {
    // The page broke the DOM methods used here: its refused elements stay in place.
  }
}
