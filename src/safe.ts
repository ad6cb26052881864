/*
 * Helpers for code that handles data from pages and targets outside any request's
 * try/catch (event listeners, stream handlers): there, a throw ends the whole process.
 */

/**
 * Wraps an event handler so that nothing it throws, or rejects with, escapes into the
 * event loop, where it would end the whole process (a listener runs outside any
 * request's try/catch). On a failure `onFailure` cleans up; it must not throw either,
 * and is contained once more for good measure.
 */
export function contained<A extends unknown[]>(handler: (...args: A) => unknown, onFailure: (...args: A) => void): (...args: A) => void {
  const fail = (args: A) => {
    try {
      onFailure(...args);
    } catch {
      // Nothing is left to clean up with.
    }
  };
  return (...args: A) => {
    try {
      const result = handler(...args);
      if (result instanceof Promise) result.catch(() => fail(args));
    } catch {
      fail(args);
    }
  };
}

/** `new URL()` that answers undefined instead of throwing (a page's URL may not parse). */
export function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

