import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createApp, type App, type AppOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

/** What a test gets back from PageShot over real HTTP. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (errors, status); undefined for images. */
  json: Record<string, unknown> | undefined;
}

/** Options for one request to the PageShot under test. */
export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Raw body bytes and content type, for malformed-input tests. */
  rawBody?: { data: string | Buffer; contentType: string };
  headers?: Record<string, string>;
  /** Source address on loopback (127.0.0.2, …): a different caller, as PageShot sees it. */
  from?: string;
  signal?: AbortSignal;
}

/** A PageShot started in this process on a random loopback port. */
export interface TestServer {
  app: App;
  url: string;
  request(path: string, options?: RequestOptions): Promise<Reply>;
  /** POST /screenshot with `body`. */
  shoot(body: Record<string, unknown>, options?: Omit<RequestOptions, 'body'>): Promise<Reply>;
  stop(): Promise<void>;
}

/**
 * Environment every test server starts from: loopback allowed (the fixture site lives
 * there), quiet logs, and authentication off, so callers are told apart by source IP;
 * the auth suites turn it on.
 */
export const TEST_ENV = {
  HOST: '127.0.0.1',
  PORT: '0',
  PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
  PAGESHOT_LOG_LEVEL: 'silent',
  PAGESHOT_AUTH: 'off',
  // Each test server has its own data directory, so its own parse of the filter lists
  // (~1 s of CPU): only the servers whose captures block ads pay it.
  PAGESHOT_FILTER_LISTS_PRELOAD: 'false',
  // No shedding on the machine's CPU: a suite run on a loaded machine (CI beside other
  // work, 2 cores) would otherwise see SERVER_BUSY where a test expects a capture. The
  // tests of shedding set their own threshold and a CPU reading of their own.
  PAGESHOT_CPU_BUSY_PERCENT: '100',
};

/** A new empty directory for one server's SQLite file. */
export function tempDataDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'pageshot-data-'));
}

/** Reads a whole response into a Reply (JSON bodies parsed). */
export function readReply(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      const isJson = (res.headers['content-type'] ?? '').includes('application/json');
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body,
        json: isJson ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : undefined,
      });
    });
    res.on('error', reject);
  });
}

/** Sends one HTTP request with node:http (so a source address can be chosen). */
export function httpRequest(base: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const url = new URL(path, base);
  let payload: Buffer | undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (options.rawBody) {
    payload = Buffer.from(options.rawBody.data);
    headers['content-type'] = options.rawBody.contentType;
  } else if (options.body !== undefined) {
    payload = Buffer.from(JSON.stringify(options.body));
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? (payload ? 'POST' : 'GET'),
        headers,
        localAddress: options.from,
        signal: options.signal,
        agent: false,
      },
      (res) => readReply(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Starts PageShot with TEST_ENV plus `env`, on a random port, with real Chromium. */
export async function startPageShot(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestServer> {
  const dataDir = env.PAGESHOT_DATA_DIR ? undefined : tempDataDir();
  const app = await createApp(loadConfig({ ...TEST_ENV, ...(dataDir ? { PAGESHOT_DATA_DIR: dataDir } : {}), ...env }), overrides);
  const url = await app.listen();
  const request = (route: string, options?: RequestOptions) => httpRequest(url, route, options);
  return {
    app,
    url,
    request,
    shoot: (body, options) => request('/screenshot', { ...options, body }),
    stop: async () => {
      await app.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Decoded image: its format, size, and a way to read pixels. */
export interface DecodedImage {
  format: string | undefined;
  width: number;
  height: number;
  hasAlpha: boolean;
  /** [r, g, b, a] at (x, y) in image pixels. */
  pixel(x: number, y: number): [number, number, number, number];
}

/** Decodes PNG, JPEG or WebP bytes with sharp. */
export async function decodeImage(bytes: Buffer): Promise<DecodedImage> {
  const image = sharp(bytes);
  const metadata = await image.metadata();
  const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    format: metadata.format,
    width: info.width,
    height: info.height,
    hasAlpha: metadata.hasAlpha ?? false,
    pixel(x, y) {
      const offset = (y * info.width + x) * 4;
      return [data[offset]!, data[offset + 1]!, data[offset + 2]!, data[offset + 3]!];
    },
  };
}

/** True when two colours are within `tolerance` per channel (lossy formats drift a little). */
export function near(actual: number[], expected: number[], tolerance = 12): boolean {
  return expected.every((value, index) => Math.abs((actual[index] ?? -999) - value) <= tolerance);
}
