import type { FiltersEngine } from '@ghostery/adblocker';
import type { Logger } from 'pino';
import { ApiError } from '../../errors.js';
import { timeLeft } from '../frames.js';
import type { CaptureOptions } from '../options.js';
import type { PooledContext } from '../pooled-context.js';
import { hideConsentLeftovers } from './banner-fallback.js';
import { collapseRefusedElements } from './collapse-blocked.js';
import { awaitConsentRefusal, setConsentScript } from './consent-banners.js';
import type { ContentBlocking } from './content-blocking.js';
import { hideAdSlots } from './cosmetic-filter.js';
import { stopBuilding } from './engine-builder.js';
import { loadFilterEngines, optionOf, type EngineSlot, type ListKind } from './filter-lists.js';
import { hideCallerSelectors } from './hide-selectors.js';
import { refusedElementSources, setRequestRules } from './request-filter.js';
import { setWebSocketBlock } from './websocket-block.js';

/** Longest wait for the consent leftovers to be hidden, after the consent script's own wait. */
const LEFTOVERS_WAIT_MS = 1_000;

/** Settings of `createContentBlocking`. */
export interface ContentBlockingOptions {
  /** The directory of easylist.txt and easyprivacy.txt (`config.filterListsDir`). */
  listsDir: string;
  /** Where parsed engines are kept between starts (e.g. `<data dir>/filter-engines`); none when undefined. */
  cacheDir?: string;
  /** Build the engines now, in the background (default; a server), or on first use (`pageshot shoot`). */
  preload?: boolean;
  logger: Logger;
}

/** Content blocking with its filter engines, and what to do with them at shutdown. */
export interface PageContentBlocking extends ContentBlocking {
  /** Builds every list that exists (if not started yet) and settles once each is built or failed (start-up checks, benchmarks). */
  ready(): Promise<void>;
  /** Stops a list parse still running; call at shutdown. */
  close(): Promise<void>;
}

/**
 * PageShot's content blocking: EasyList (`blockAds`) and EasyPrivacy (`blockTrackers`)
 * through Ghostery's engine, DuckDuckGo's autoconsent (`blockCookieBanners`),
 * `blockResources` and `hideSelectors`. Returns at once; the engines are built in the
 * background (a worker thread, or the cache in `cacheDir`), from now on or (`preload:
 * false`) when first needed, and the first capture that needs one waits for it. A
 * missing list is logged now and refused per request.
 */
export function createContentBlocking(options: ContentBlockingOptions): PageContentBlocking {
  const slots = loadFilterEngines({
    listsDir: options.listsDir,
    cacheDir: options.cacheDir,
    preload: options.preload ?? true,
    logger: options.logger,
  });
  return {
    assertAvailable: (capture) => {
      for (const kind of wantedKinds(capture)) engineSlot(slots, kind);
    },
    beforeNavigation: (pooled, capture) => beforeNavigation(slots, pooled, capture),
    afterLoad: (pooled, capture, deadline) => afterLoad(slots, pooled, capture, deadline),
    ready: async () => {
      await Promise.allSettled(Object.values(slots).map((slot) => (slot.available ? slot.engine() : undefined)));
    },
    close: stopBuilding,
  };
}

/** The lists a capture asks for. */
function wantedKinds(options: CaptureOptions): ListKind[] {
  return [...(options.blockAds ? (['ads'] as const) : []), ...(options.blockTrackers ? (['trackers'] as const) : [])];
}

/** The slot of a list the capture needs; the error when the server has no such list. */
function engineSlot(slots: Record<ListKind, EngineSlot>, kind: ListKind): EngineSlot & { available: true } {
  const slot = slots[kind];
  if (!slot.available) throw listsUnavailable(kind);
  return slot;
}

function listsUnavailable(kind: ListKind): ApiError {
  return new ApiError('FILTER_LISTS_UNAVAILABLE', `"${optionOf(kind)}" is not available on this server: its filter list is not installed.`, {
    extras: { field: optionOf(kind) },
  });
}

/** The built engine of a list the capture needs; the same error when the build failed. */
async function engineOf(slots: Record<ListKind, EngineSlot>, kind: ListKind): Promise<FiltersEngine> {
  const slot = engineSlot(slots, kind);
  try {
    return await slot.engine();
  } catch {
    throw listsUnavailable(kind);
  }
}

/** Sets the whole request and script state of the context for this capture (off where not asked). */
async function beforeNavigation(slots: Record<ListKind, EngineSlot>, pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const engines = await Promise.all(wantedKinds(options).map((kind) => engineOf(slots, kind)));
  // Routes never see WebSockets (websocket-block.ts handles those): no route for them alone.
  const types = new Set((options.blockResources ?? []).filter((type) => type !== 'websocket'));
  await Promise.all([
    setRequestRules(pooled, { engines, types }),
    setConsentScript(pooled, options.blockCookieBanners),
    setWebSocketBlock(pooled, options.blockResources?.includes('websocket') ?? false),
  ]);
}

/** Ad slots, refused frames and consent dialogs at once (each bounded by the deadline), then the caller's own selectors. */
async function afterLoad(slots: Record<ListKind, EngineSlot>, pooled: PooledContext, options: CaptureOptions, deadline: number): Promise<void> {
  const { page } = pooled;
  const ads = options.blockAds ? engineOf(slots, 'ads').then((engine) => hideAdSlots(page, engine, deadline)) : undefined;
  const refused = wantedKinds(options).length > 0 ? collapseRefusedElements(page, refusedElementSources(pooled), deadline) : undefined;
  const banners = options.blockCookieBanners
    ? awaitConsentRefusal(pooled, deadline).then(({ dialogSeen }) => hideConsentLeftovers(page, dialogSeen, timeLeft(deadline, LEFTOVERS_WAIT_MS)))
    : undefined;
  await Promise.all([ads, refused, banners]);
  if (options.hideSelectors?.length) await hideCallerSelectors(page, options.hideSelectors);
}
