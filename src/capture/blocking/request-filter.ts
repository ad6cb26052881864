import { Request as FilterRequest, type FiltersEngine, type RequestType } from '@ghostery/adblocker';
import type { Frame, Request, Route } from 'playwright-core';
import { contained } from '../../safe.js';
import type { PooledContext } from '../pooled-context.js';

/** What one capture refuses to load. */
export interface RequestRules {
  /** Filter engines (ads, trackers) whose network rules abort a request. */
  engines: readonly FiltersEngine[];
  /** Playwright resource types never loaded (`blockResources`). */
  types: ReadonlySet<string>;
}

/** The route handler installed in a context, and the rules of its current capture. */
interface Installed {
  rules: RequestRules;
  handler: (route: Route, request: Request) => void;
}

/** Per context: present only while a capture of that context blocks something. */
const installed = new WeakMap<PooledContext, Installed>();

/**
 * Addresses of frames and media the lists refused in a context's current capture: their
 * elements are collapsed after load (see collapse-blocked.ts), as an ad blocker does,
 * instead of showing Chromium's "blocked" page in the ad's place. Bounded.
 */
const refusedElements = new WeakMap<PooledContext, Set<string>>();
const MAX_REFUSED_ELEMENTS = 500;
/** Request types whose element shows a hole when refused. */
const ELEMENT_TYPES = new Set(['document', 'image', 'media']);

/** What the lists refused so far in this context's capture that an element of the page shows. */
export function refusedElementSources(pooled: PooledContext): string[] {
  return [...(refusedElements.get(pooled) ?? [])];
}

/**
 * Sets what the coming capture blocks, replacing whatever the previous capture in this
 * context set. With nothing to block, no route handler stays installed: Playwright's
 * interception pauses every request for a round trip to Node and turns Chromium's HTTP
 * cache off while any route exists, so the default path must pay nothing. While
 * consecutive captures block, the one handler stays and only its rules change.
 */
export async function setRequestRules(pooled: PooledContext, rules: RequestRules | undefined): Promise<void> {
  refusedElements.delete(pooled);
  const current = installed.get(pooled);
  if (rules === undefined || (rules.engines.length === 0 && rules.types.size === 0)) {
    if (!current) return;
    installed.delete(pooled);
    await pooled.context.unroute('**/*', current.handler);
    return;
  }
  if (current) {
    current.rules = rules;
    return;
  }
  // Everything a route handler touches comes from the page: contained, and a failure lets the request through.
  const handler = contained(
    (route: Route, request: Request) => decide(pooled, route, request),
    (route: Route) => void route.fallback().catch(() => undefined),
  );
  installed.set(pooled, { rules, handler });
  await pooled.context.route('**/*', handler);
}

/** Aborts or lets through one request, by the rules of the context's current capture. */
async function decide(pooled: PooledContext, route: Route, request: Request): Promise<void> {
  const rules = installed.get(pooled)?.rules;
  const verdict = rules ? verdictOn(pooled, rules, request) : 'allowed';
  if (verdict === 'listed') noteRefusedElement(pooled, request);
  if (verdict !== 'allowed') {
    await route.abort('blockedbyclient').catch(() => undefined);
  } else {
    // fallback, not continue: a handler installed later by another part may still act.
    await route.fallback().catch(() => undefined);
  }
}

/** Remembers a refused frame or image, so that its element can be collapsed. */
function noteRefusedElement(pooled: PooledContext, request: Request): void {
  if (!ELEMENT_TYPES.has(request.resourceType())) return;
  const refused = refusedElements.get(pooled) ?? new Set<string>();
  if (refused.size < MAX_REFUSED_ELEMENTS) refused.add(request.url());
  refusedElements.set(pooled, refused);
}

/**
 * Whether a request is refused, and by what: `blockResources` (`type`) or a filter list
 * (`listed`). Never a page's main document: the target itself is always loaded,
 * whatever a list or `blockResources` says about its URL.
 */
function verdictOn(pooled: PooledContext, rules: RequestRules, request: Request): 'allowed' | 'type' | 'listed' {
  const type = request.resourceType();
  const frame = frameOf(request);
  if (type === 'document' && (frame === undefined || frame.parentFrame() === null)) return 'allowed';
  if (rules.types.has(type)) return 'type';
  if (rules.engines.length === 0) return 'allowed';
  const url = request.url();
  if (!url.startsWith('http:') && !url.startsWith('https:')) return 'allowed';
  const filterRequest = FilterRequest.fromRawDetails({
    url,
    sourceUrl: sourceUrl(pooled, frame, type),
    // An iframe's document: EasyList's `$subdocument` rules (ad frames) apply to it.
    type: (type === 'document' ? 'sub_frame' : type) as RequestType,
  });
  const listed = rules.engines.some((engine) => {
    const verdict = engine.match(filterRequest);
    return verdict.match || verdict.redirect !== undefined;
  });
  return listed ? 'listed' : 'allowed';
}

/** The frame that made a request; undefined for a worker's (Playwright throws there). */
function frameOf(request: Request): Frame | undefined {
  try {
    return request.frame();
  } catch {
    return undefined;
  }
}

/**
 * The document a request comes from, which decides `$third-party` and `$domain=` rules:
 * the frame's own address, or for an iframe's document the frame that embeds it; the
 * page's address when the frame has none of its own yet (about:blank, srcdoc).
 */
function sourceUrl(pooled: PooledContext, frame: Frame | undefined, type: string): string {
  const source = type === 'document' ? frame?.parentFrame() : frame;
  const url = source?.url() ?? '';
  return url.startsWith('http:') || url.startsWith('https:') ? url : pooled.page.url();
}
