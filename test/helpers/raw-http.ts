import net from 'node:net';

/** What came back on a raw connection before it closed. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body parsed as JSON, when it is JSON. */
  json: Record<string, unknown> | undefined;
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
}

/** Parses an HTTP/1.1 answer (head and body in one buffer); status 0 when nothing came. */
export function parseAnswer(raw: string, closedAfterMs: number): RawAnswer {
  const [head = '', body = ''] = raw.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, json, closedAfterMs };
}

/**
 * Writes `bytes` on a new loopback connection to `url`'s port and reads until the
 * server closes it, or fails after `timeoutMs`: the bytes go out exactly as given, so
 * malformed requests reach the server's parser untouched.
 */
export function rawExchange(url: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: hostname, port: Number(port) }, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset still ends in 'close'
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'), Date.now() - started));
    });
  });
}
