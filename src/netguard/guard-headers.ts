/* The headers by which the guard proxy marks its own answers to Chromium. */

/** Response header that marks an answer as a refusal by PageShot, not by the target. */
export const REFUSED_HEADER = 'x-pageshot-refused';
/** Response header naming why an allowed target could not be reached (a Chromium net error name). */
export const UPSTREAM_ERROR_HEADER = 'x-pageshot-upstream-error';
