import net from 'node:net';

/**
 * A target that answers like a broken or malicious server. Written on raw `net`
 * sockets, not node:http, because node:http refuses to send most of these answers.
 */
export type HostileAnswer = (socket: net.Socket) => void;

/** A tiny page with a green block at the top-left corner, for answers that are valid HTTP. */
const GREEN_PAGE =
  '<!doctype html><html><body style="margin:0;background:#fff">' +
  '<div style="width:200px;height:100px;background:#00ff00"></div></body></html>';

const BODY = '<!doctype html><p>hostile</p>';

/**
 * Sends `text` (latin1, so any byte can be written) and closes the connection. Answers
 * that have headers say `connection: close`, so the proxy never sends a second request on
 * a socket about to close: each request gets exactly its case's answer.
 */
const raw =
  (text: string): HostileAnswer =>
  (socket) =>
    socket.end(Buffer.from(text, 'latin1'));

/** A status line, headers and a body that is otherwise well framed. */
const withStatus = (statusLine: string) => raw(`${statusLine}\r\nconnection: close\r\ncontent-type: text/html\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`);
const withHeader = (header: string) =>
  raw(`HTTP/1.1 200 OK\r\n${header}\r\nconnection: close\r\ncontent-type: text/html\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`);

function manyHeaders(count: number): string {
  const lines: string[] = [];
  for (let index = 0; index < count; index++) lines.push(`x-h-${index}: ${index}`);
  return lines.join('\r\n');
}

/** Every hostile answer by name: `/case/<name>` on the server answers that way. */
export const HOSTILE_ANSWERS = {
  'status-0': withStatus('HTTP/1.1 0 OK'),
  'status-99': withStatus('HTTP/1.1 099 Odd'),
  'status-1000': withStatus('HTTP/1.1 1000 Odd'),
  'status-600': withStatus('HTTP/1.1 600 Odd'),
  'status-101': raw('HTTP/1.1 101 Switching Protocols\r\nconnection: close\r\n\r\n'),
  'header-name-space': withHeader('bad name: x'),
  'header-name-control': withHeader('bad\x01name: x'),
  'header-value-nul': withHeader('x-bad: a\x00b'),
  'header-value-del': withHeader('x-bad: a\x7fb'),
  'duplicate-content-length': raw(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: ${BODY.length}\r\ncontent-length: ${BODY.length + 1}\r\n\r\n${BODY}`),
  // Promises 100 kB, sends a few bytes, closes.
  'short-body': raw(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n${BODY}`),
  'broken-chunked': raw('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'),
  'reset-mid-body': (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n${BODY}`);
    setTimeout(() => socket.resetAndDestroy(), 50);
  },
  'not-http': raw('SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02\xff binary'),
  'no-status-line': raw(`content-type: text/html\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`),
  'empty-answer': (socket) => socket.end(),
  'huge-header': raw(`HTTP/1.1 200 OK\r\nconnection: close\r\nx-huge: ${'a'.repeat(1024 * 1024)}\r\ncontent-length: ${BODY.length}\r\n\r\n${BODY}`),
  // Valid HTTP, only unusually many headers (~150 kB): relayed, the page renders.
  'many-headers': raw(
    `HTTP/1.1 200 OK\r\nconnection: close\r\n${manyHeaders(10_000)}\r\ncontent-type: text/html\r\ncontent-length: ${GREEN_PAGE.length}\r\n\r\n${GREEN_PAGE}`,
  ),
  'location-space': raw('HTTP/1.1 302 Found\r\nconnection: close\r\nlocation: http://a b.test/\r\ncontent-length: 0\r\n\r\n'),
  'location-percent': raw('HTTP/1.1 302 Found\r\nconnection: close\r\nlocation: http://a%20b.test/\r\ncontent-length: 0\r\n\r\n'),
  'location-garbage': raw('HTTP/1.1 302 Found\r\nconnection: close\r\nlocation: http://[::1/\x80\xff\r\ncontent-length: 0\r\n\r\n'),
  // Accepts, reads the request, never answers.
  hang: () => undefined,
} satisfies Record<string, HostileAnswer>;

/** A name of HOSTILE_ANSWERS. */
export type HostileCase = keyof typeof HOSTILE_ANSWERS;

/** A running hostile server on 127.0.0.1. */
export interface HostileServer {
  /** Base URL, without a trailing slash. */
  url: string;
  /** The URL answering as `name`; `tag` marks who asked (img, script…) in `hits`. */
  caseUrl(name: HostileCase, tag?: string): string;
  /** Request paths received (with their query), in order. */
  hits: string[];
  close(): Promise<void>;
}

const MAX_REQUEST_HEAD_BYTES = 64 * 1024;

/** Reads a request head (bounded), then answers as its `/case/<name>` path says. */
function serve(socket: net.Socket, hits: string[]): void {
  let head = '';
  socket.setTimeout(30_000, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (head.length > MAX_REQUEST_HEAD_BYTES) return socket.destroy();
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    const target = /^[A-Z]+ (\S+)/.exec(head)?.[1] ?? '/';
    hits.push(target);
    const name = /^\/case\/([a-z0-9-]+)/.exec(target)?.[1] as HostileCase | undefined;
    const answer = name && Object.hasOwn(HOSTILE_ANSWERS, name) ? HOSTILE_ANSWERS[name] : raw('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    answer(socket);
  };
  socket.on('data', onData);
}

/** Starts a hostile server on 127.0.0.1 (random port). */
export async function startHostileServer(): Promise<HostileServer> {
  const hits: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, hits);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    caseUrl: (name, tag = 'page') => `${url}/case/${name}?as=${tag}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
