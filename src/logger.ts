import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { LogFormat } from './config.js';

/** The path of a request URL without its query string, which may hold a target URL or a token. */
export function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0] ?? '';
}

/** Fields the pretty line shows in its head (time, level, message) or leaves out as noise on every line. */
const PRETTY_HEAD_FIELDS = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'service']);

/**
 * A value as `key=value` shows it: plain when it has no space, quote or `=`, else quoted
 * as a JSON string, so one entry stays on one line whatever its values hold.
 */
function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** `key=value` pairs of a log entry's fields, nested objects flattened (`req.method=GET`). */
function keyValues(fields: Record<string, unknown>, prefix = ''): string[] {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (prefix === '' && PRETTY_HEAD_FIELDS.has(key)) continue;
    if (value === undefined) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) pairs.push(...keyValues(value as Record<string, unknown>, `${prefix}${key}.`));
    else pairs.push(`${prefix}${key}=${formatValue(value)}`);
  }
  return pairs;
}

/** Where a pretty logger writes: standard output by default; tests pass a stream to read. */
export interface PrettyOptions {
  destination?: NodeJS.WritableStream;
  /** ANSI colours; by default only when standard output is a terminal (never into a file or a pipe). */
  colorize?: boolean;
}

/**
 * A destination for createLogger that turns each JSON entry into one line for people:
 * `[time] LEVEL: message key=value …`. It rewrites what pino has already serialized and
 * redacted, so the serializers and the redaction apply as in JSON. Writes synchronously:
 * a line is out before the call returns, so it keeps its place among direct writes to
 * standard output (the first-start admin key) and is not lost to an abrupt exit.
 */
export function prettyDestination(options: PrettyOptions = {}): pino.DestinationStream {
  return pinoPretty({
    sync: true,
    colorize: options.colorize ?? process.stdout.isTTY === true,
    translateTime: 'SYS:standard',
    ignore: 'pid,hostname',
    // The fields go on the message's line as key=value, not below it as YAML-like blocks.
    hideObject: true,
    messageFormat: (log, messageKey) => [log[messageKey] ?? '', ...keyValues(log)].filter((part) => part !== '').join(' '),
    ...(options.destination ? { destination: options.destination } : {}),
  });
}

/** The process's log destination for `format`: pino's own (JSON on standard output), or the pretty one. */
export function logDestination(format: LogFormat): pino.DestinationStream | undefined {
  return format === 'pretty' ? prettyDestination() : undefined;
}

/**
 * The process logger: JSON lines (pino), to `destination` when given (prettyDestination()
 * rewrites them for people, after redaction). Request lines carry the method and path
 * only, never headers or the query string, and errors carry their type, code and message
 * but no stack (which names files) — so no key, target URL or path reaches the log.
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
