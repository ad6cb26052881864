import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Frame } from 'playwright-core';
import type { PooledContext } from '../pooled-context.js';
import { evaluateWithin, framesOf, timeLeft } from '../frames.js';
import { setInitScript } from './init-scripts.js';

/** Longest wait for the consent script to refuse a dialog, however long the deadline. */
const CONSENT_WAIT_MS = 3_000;
/**
 * With no consent platform found in any frame after this long, or after the main
 * frame's script looked this many times (it looks every 500 ms from DOMContentLoaded,
 * so a page that took long to load has been searched already), the page has none.
 */
const NOTHING_FOUND_AFTER_MS = 1_000;
const NOTHING_FOUND_AFTER_ATTEMPTS = 3;
const POLL_MS = 100;
/** Frames asked for their script's progress (CMP dialogs live in the page or one iframe). */
const MAX_FRAMES = 20;
const FRAME_WAIT_MS = 300;

/**
 * DuckDuckGo's autoconsent, its standalone build: at document start in every frame it
 * looks for a known consent platform (OneTrust, Cookiebot, Didomi, Quantcast,
 * Sourcepoint, TrustArc, Usercentrics and hundreds more, from the rules in the package)
 * and clicks its way to "reject all". Read once, on first use (~400 KB).
 */
let consentScript: string | undefined;
function autoconsentSource(): string {
  if (consentScript === undefined) {
    // The package's exports map hides dist/; its main entry lives next to the standalone file.
    const main = createRequire(import.meta.url).resolve('@duckduckgo/autoconsent');
    consentScript = readFileSync(path.join(path.dirname(main), 'autoconsent.standalone.js'), 'utf8');
  }
  return consentScript;
}

/**
 * Installs the consent script for the coming capture, or removes the one a previous
 * capture installed (see init-scripts.ts). It runs in every frame, cross-origin iframes
 * included, where Sourcepoint and TrustArc draw their dialogs.
 */
export async function setConsentScript(pooled: PooledContext, wanted: boolean): Promise<void> {
  await setInitScript(pooled, 'autoconsent', wanted ? autoconsentSource() : undefined);
}

/** How the script fared in one frame: refusing now, finished with a dialog, or idle; and how often it looked. */
interface Progress {
  state: 'active' | 'handled' | 'idle';
  attempts: number;
}

const ACTIVE = new Set(['cmpDetected', 'openPopupDetected', 'runningOptOut', 'runningOptIn']);
const HANDLED = new Set(['done', 'optOutSucceeded', 'optOutFailed', 'optInSucceeded', 'optInFailed']);

/** What the wait saw: whether a consent dialog was there at all. */
export interface ConsentOutcome {
  dialogSeen: boolean;
}

/**
 * Waits (at most 3 s, and never past `deadline`) until the consent script has refused
 * the dialogs it found: no frame is still working on one, and either some frame
 * finished one, or none found any platform within a second of looking. A page made
 * with `html` never ran the init script (its document was written, not loaded): the
 * script is started in it here.
 */
export async function awaitConsentRefusal(pooled: PooledContext, deadline: number): Promise<ConsentOutcome> {
  const started = Date.now();
  const until = started + timeLeft(deadline, CONSENT_WAIT_MS);
  const main = pooled.page.mainFrame();
  if ((await readProgress(main, until)) === undefined) {
    await evaluateWithin(main, autoconsentSource(), undefined, timeLeft(until, FRAME_WAIT_MS));
  }
  let dialogSeen = false;
  while (Date.now() < until) {
    const progress = await Promise.all(framesOf(pooled.page, MAX_FRAMES).map((frame) => readProgress(frame, until)));
    const states = progress.map((frame) => frame?.state);
    dialogSeen ||= states.includes('active') || states.includes('handled');
    if (!states.includes('active')) {
      const searched = Date.now() - started >= NOTHING_FOUND_AFTER_MS || (progress[0]?.attempts ?? 0) >= NOTHING_FOUND_AFTER_ATTEMPTS;
      if (states.includes('handled') || searched) break;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, until - Date.now()))));
  }
  return { dialogSeen };
}

/** The script's progress in a frame; undefined where it does not run (or the frame does not answer). */
async function readProgress(frame: Frame, until: number): Promise<Progress | undefined> {
  const raw = await evaluateWithin(frame, readState, undefined, timeLeft(until, FRAME_WAIT_MS));
  // What a page answers is checked here: it could have replaced the script's state with anything.
  if (!Array.isArray(raw) || typeof raw[0] !== 'string' || typeof raw[1] !== 'number') return undefined;
  const [lifecycle, attempts] = raw as [string, number];
  return { state: ACTIVE.has(lifecycle) ? 'active' : HANDLED.has(lifecycle) ? 'handled' : 'idle', attempts };
}

/** In the frame: the standalone script's lifecycle state and search count (it keeps them on `window`). */
function readState(): [string, number] | null {
  try {
    type State = { lifecycle?: unknown; findCmpAttempts?: unknown };
    const state = (window as unknown as { autoconsentStandalone?: { instance?: { state?: State } } }).autoconsentStandalone?.instance?.state;
    if (!state || typeof state.lifecycle !== 'string') return null;
    return [state.lifecycle.slice(0, 32), Number(state.findCmpAttempts) || 0];
  } catch {
    return null;
  }
}
