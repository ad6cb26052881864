import type { PooledContext } from '../pooled-context.js';
import { setInitScript } from './init-scripts.js';

/**
 * Playwright's routes never see WebSockets, and Chromium's own URL blocking
 * (`Network.setBlockedURLs`) lets their handshakes through (both measured), so
 * `blockResources: ["websocket"]` replaces the page's `WebSocket` at document start, in
 * every frame, with one that never connects: it fails the way a socket an ad blocker
 * refused does (an `error`, then a `close` with code 1006), so the page's own error
 * handling runs. Workers keep the real WebSocket (init scripts do not reach them).
 * A string, not a function: it is sent to Chromium as it is.
 */
const NO_WEBSOCKETS = `(() => {
  if (typeof globalThis.WebSocket !== 'function') return;
  class WebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = String(url);
      this.readyState = 0;
      this.protocol = '';
      this.extensions = '';
      this.bufferedAmount = 0;
      this.binaryType = 'blob';
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      setTimeout(() => {
        this.readyState = 3;
        const error = new Event('error');
        if (typeof this.onerror === 'function') this.onerror(error);
        this.dispatchEvent(error);
        const close = new CloseEvent('close', { code: 1006, wasClean: false });
        if (typeof this.onclose === 'function') this.onclose(close);
        this.dispatchEvent(close);
      }, 0);
    }
    send() {
      if (this.readyState === 0) throw new DOMException('Still in CONNECTING state.', 'InvalidStateError');
    }
    close() {
      this.readyState = 3;
    }
  }
  for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]]) {
    Object.defineProperty(WebSocket, name, { value });
    Object.defineProperty(WebSocket.prototype, name, { value });
  }
  globalThis.WebSocket = WebSocket;
})();`;

/** Keeps the page's documents from opening WebSockets in the coming capture, or lets them again. */
export async function setWebSocketBlock(pooled: PooledContext, blocked: boolean): Promise<void> {
  await setInitScript(pooled, 'no-websockets', blocked ? NO_WEBSOCKETS : undefined);
}
