import pino, { type Logger } from 'pino';

/** The path of a request URL without its query string, which may hold a target URL or a token. */
export function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}

/**
 * The process logger: JSON lines (pino). Request lines carry the method and path only,
 * never headers or the query string, and errors carry their type, code and message but
 * no stack (which names files) — so no key, target URL or path reaches the log.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'pageshot' },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          path: pathOnly(req.url),
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: (err: { name?: string; code?: string; message?: string }) => ({
          type: err.name,
          code: err.code,
          message: err.message?.split('\n')[0],
        }),
      },
      redact: { paths: ['headers.authorization', 'headers["x-api-key"]'], censor: '[redacted]' },
    },
    destination,
  );
}
