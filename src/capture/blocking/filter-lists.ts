import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FiltersEngine } from '@ghostery/adblocker';
import type { Logger } from 'pino';
import { buildEngine, type EngineConfig } from './engine-builder.js';

/** What a list blocks; the capture option that asks for it. */
export type ListKind = 'ads' | 'trackers';

/** The file of each kind, and how its engine is parsed. */
const LISTS: Record<ListKind, { file: string; option: string; config: EngineConfig }> = {
  // Element hiding (ad slots) comes from EasyList; its network rules block the ads.
  ads: {
    file: 'easylist.txt',
    option: 'blockAds',
    config: { loadCosmeticFilters: true, loadGenericCosmeticsFilters: true, loadNetworkFilters: true, loadCSPFilters: false, enableHtmlFiltering: false },
  },
  // Trackers are invisible: only EasyPrivacy's network rules matter.
  trackers: {
    file: 'easyprivacy.txt',
    option: 'blockTrackers',
    config: { loadCosmeticFilters: false, loadGenericCosmeticsFilters: false, loadNetworkFilters: true, loadCSPFilters: false, enableHtmlFiltering: false },
  },
};

/** The capture option that asks for a kind of list (for error messages). */
export function optionOf(kind: ListKind): string {
  return LISTS[kind].option;
}

/** One list's engine: absent (no file), or there to build (once; a build may fail). */
export type EngineSlot = { available: false; file: string } | { available: true; file: string; engine: () => Promise<FiltersEngine> };

/** Settings of `loadFilterEngines`. */
export interface FilterListOptions {
  /** The directory holding easylist.txt and easyprivacy.txt. */
  listsDir: string;
  /** Where parsed engines are cached between starts; undefined: no cache. */
  cacheDir: string | undefined;
  /** Start building now (a server), or on first use (a one-shot command that may need none). */
  preload: boolean;
  logger: Logger;
}

/**
 * Finds the ads and trackers lists and (with `preload`) starts building their engines in
 * the background (see engine-builder); a capture that needs one waits for it. A missing
 * list is logged once here, and the option that needs it is refused (not silently
 * ignored).
 */
export function loadFilterEngines(options: FilterListOptions): Record<ListKind, EngineSlot> {
  const slots = { ads: slotOf('ads', options), trackers: slotOf('trackers', options) };
  if (options.preload) for (const slot of Object.values(slots)) if (slot.available) void slot.engine().catch(() => undefined);
  return slots;
}

function slotOf(kind: ListKind, options: FilterListOptions): EngineSlot {
  const { file: name, option, config } = LISTS[kind];
  const file = path.join(options.listsDir, name);
  if (!existsSync(file)) {
    options.logger.warn(
      { file, option },
      `filter list not found: "${option}" will be refused; install Debian's webext-ublock-origin-chromium or set PAGESHOT_FILTER_LISTS_DIR`,
    );
    return { available: false, file };
  }
  let building: Promise<FiltersEngine> | undefined;
  const engine = () => {
    if (building) return building;
    const started = performance.now();
    building = buildEngine(file, config, options.cacheDir);
    building.then(
      () => options.logger.info({ file, ms: Math.round(performance.now() - started) }, 'filter list loaded'),
      (error: unknown) => options.logger.error({ err: error, file, option }, `filter list could not be loaded: "${option}" will fail`),
    );
    return building;
  };
  return { available: true, file, engine };
}
