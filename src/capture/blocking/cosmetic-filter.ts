import { Request as FilterRequest, type FiltersEngine } from '@ghostery/adblocker';
import type { Frame, Page } from 'playwright-core';
import { evaluateWithin, framesOf, timeLeft } from '../frames.js';

/** Frames whose ad slots are hidden; an ad-heavy page's other frames keep theirs. */
const MAX_FRAMES = 30;
/** Longest a frame may take to describe its DOM or to take the style sheet. */
const FRAME_WAIT_MS = 1_000;
/** Caps on what a frame reports: a page controls its DOM and may make it enormous. */
const MAX_NAMES = 4_000;
const MAX_NAME_CHARS = 256;

/** The class names, ids and link targets in a frame: what generic hiding rules are keyed on. */
interface DomFeatures {
  classes: string[];
  ids: string[];
  hrefs: string[];
}

/**
 * Hides ad slots the way an ad blocker's content script does: for each frame (main
 * frame first), asks the list's element-hiding rules that apply to the frame's host
 * name, plus the generic rules keyed on the classes, ids and links its DOM holds now,
 * and adds them as a style sheet (`display: none !important`, so the page closes the
 * gap). Cross-origin frames included. Bounded by `deadline`; a frame that fails or
 * stalls keeps its ads, nothing more.
 */
export async function hideAdSlots(page: Page, engine: FiltersEngine, deadline: number): Promise<void> {
  const pageUrl = page.url();
  await Promise.all(framesOf(page, MAX_FRAMES).map((frame) => hideInFrame(frame, pageUrl, engine, deadline)));
}

async function hideInFrame(frame: Frame, pageUrl: string, engine: FiltersEngine, deadline: number): Promise<void> {
  const features = sanitize(await evaluateWithin(frame, collectFeatures, MAX_NAMES, timeLeft(deadline, FRAME_WAIT_MS)));
  if (!features) return;
  // A frame without an address of its own (about:blank, srcdoc: how ad scripts build
  // their slots) is judged by the page's.
  const ownUrl = frame.url();
  const url = ownUrl.startsWith('http:') || ownUrl.startsWith('https:') ? ownUrl : pageUrl;
  const styles = stylesFor(engine, url, features);
  if (styles.length > 0) await evaluateWithin(frame, addStyleSheet, styles, timeLeft(deadline, FRAME_WAIT_MS));
}

/** The hiding style sheet for a frame at `url` with these DOM features; empty if the engine fails on the page's data. */
function stylesFor(engine: FiltersEngine, url: string, features: DomFeatures): string {
  try {
    const { hostname, domain } = FilterRequest.fromRawDetails({ url });
    return engine.getCosmeticsFilters({
      url,
      hostname,
      domain,
      ...features,
      getBaseRules: true,
      getRulesFromDOM: true,
      getRulesFromHostname: true,
      // Scriptlets and procedural selectors need code run in the page; not done here.
      getInjectionRules: false,
      getExtendedRules: false,
    }).styles;
  } catch {
    return '';
  }
}

/** Keeps only strings of sane length from what a page answered (it may answer anything). */
function sanitize(raw: unknown): DomFeatures | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const list = (value: unknown) =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item.length <= MAX_NAME_CHARS).slice(0, MAX_NAMES) : [];
  const record = raw as Record<string, unknown>;
  return { classes: list(record.classes), ids: list(record.ids), hrefs: list(record.hrefs) };
}

/** In the frame: the distinct classes, ids and link targets, at most `max` of each. */
function collectFeatures(max: number): DomFeatures {
  const classes = new Set<string>();
  const ids = new Set<string>();
  const hrefs = new Set<string>();
  try {
    const elements = document.querySelectorAll('[id],[class],a[href]');
    for (let i = 0; i < elements.length && i < 20 * max; i++) {
      const element = elements[i]!;
      if (element.id && ids.size < max) ids.add(element.id);
      if (classes.size < max) for (const name of Array.from(element.classList)) classes.add(name);
      if (element instanceof HTMLAnchorElement && element.href && hrefs.size < max) hrefs.add(element.href);
    }
  } catch {
    // The page broke the DOM methods: what was gathered so far is what there is.
  }
  return { classes: [...classes], ids: [...ids], hrefs: [...hrefs] };
}

/** In the frame: appends the style sheet at the end of the document, where it wins ties. */
function addStyleSheet(css: string): void {
  const style = document.createElement('style');
  style.textContent = css;
  (document.head ?? document.documentElement).appendChild(style);
}
