import type { Page } from 'playwright-core';
import { evaluateWithin } from '../frames.js';

/**
 * The containers, dialogs and dimming overlays of well-known consent platforms, hidden
 * whatever the consent script managed: a dialog it has no rule for, one still fading
 * out, an overlay left behind. Ids and classes these platforms own, so a page's own
 * content never matches; the generic rows need a modal dialog that names cookies or
 * consent, not just any element with "cookie" in its class.
 */
export const CONSENT_BANNER_SELECTORS: readonly string[] = [
  // OneTrust
  '#onetrust-consent-sdk',
  '#onetrust-banner-sdk',
  '.onetrust-pc-dark-filter',
  // Cookiebot
  '#CybotCookiebotDialog',
  '#CybotCookiebotDialogBodyUnderlay',
  // Didomi
  '#didomi-host',
  '#didomi-popup',
  '#didomi-notice',
  '.didomi-popup-backdrop',
  // Quantcast Choice
  '#qc-cmp2-container',
  '.qc-cmp2-container',
  // TrustArc
  '#truste-consent-track',
  '#consent_blackbar',
  '.truste_overlay',
  '.truste_box_overlay',
  '.truste_popframe',
  '.trustarc-banner-container',
  // Usercentrics
  '#usercentrics-root',
  '#usercentrics-cmp-ui',
  // Sourcepoint
  '[id^="sp_message_container"]',
  '#sp_privacy_manager_container',
  // consentmanager.net, Google Funding Choices, CookieYes, iubenda, Osano, Klaro
  '#cmpbox',
  '#cmpbox2',
  '.fc-consent-root',
  '.cky-consent-container',
  '.cky-overlay',
  '#iubenda-cs-banner',
  '.osano-cm-window',
  '#klaro .cookie-modal',
  '#klaro .cookie-notice',
  // Generic: a modal dialog about cookies or consent.
  '[aria-modal="true"][class*="cookie" i]',
  '[aria-modal="true"][id*="cookie" i]',
  '[aria-modal="true"][class*="consent" i]',
  '[aria-modal="true"][id*="consent" i]',
  '[role="dialog"][aria-label*="cookie" i]',
  '[role="dialog"][aria-label*="consent" i]',
];

/**
 * Hides the known consent containers in the main frame (`display: none !important`, a
 * style sheet, so one that appears later is hidden too), and, when a consent dialog
 * was there (seen by the consent script, or one of these containers was visible), lifts
 * the scroll lock such dialogs put on `<html>` and `<body>` (`overflow: hidden`), so a
 * full-page capture shows the whole page. A page that locks its own scrolling without a
 * dialog keeps its lock.
 */
export async function hideConsentLeftovers(page: Page, dialogSeen: boolean, ms: number): Promise<void> {
  await evaluateWithin(page.mainFrame(), hideAndUnlock, { selectors: CONSENT_BANNER_SELECTORS, dialogSeen }, ms);
}

/**
 * In the page: the style sheet, then the lock, undone with inline `!important` (which
 * beats the CMP's class rules). No named inner functions: tsx (tests) would wrap them
 * in a helper that does not exist in the page.
 */
function hideAndUnlock({ selectors, dialogSeen }: { selectors: readonly string[]; dialogSeen: boolean }): void {
  let bannerShown = false;
  try {
    bannerShown = selectors.some((selector) =>
      Array.from(document.querySelectorAll(selector)).some((element) => {
        const box = element.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== 'hidden';
      }),
    );
  } catch {
    // A page that broke the DOM methods only loses the scroll unlock.
  }
  const style = document.createElement('style');
  // One rule per selector: a selector this browser does not know drops only its own rule.
  style.textContent = selectors.map((selector) => `${selector} { display: none !important; }`).join('\n');
  (document.head ?? document.documentElement).appendChild(style);
  if (!dialogSeen && !bannerShown) return;
  for (const element of [document.documentElement, document.body]) {
    if (!element) continue;
    const overflow = getComputedStyle(element).overflowY;
    if (overflow === 'hidden' || overflow === 'clip') element.style.setProperty('overflow', 'visible', 'important');
  }
}
