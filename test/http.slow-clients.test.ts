import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readReply, startPageShot, type TestServer } from './helpers/harness.js';

const HEADERS_TIMEOUT_MS = 2_000;
/** Node checks deadlines once a second (connectionsCheckingInterval); the rest is slack for a busy machine. */
const CLOSE_WITHIN_MS = HEADERS_TIMEOUT_MS + 1_000 + 1_500;
const FLOOD = 200;

/** Opens a loopback connection that sends half a request line and nothing more; resolves with when it was closed. */
function slowloris(url: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect({ host: hostname, port: Number(port) }, () => socket.write('GET /sta'));
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error('a slow connection was still open after 10 s'));
    }, 10_000);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve(Date.now() - started);
    });
  });
}

describe('slow and idle clients', () => {
  let server: TestServer;

  before(async () => {
    server = await startPageShot({ PAGESHOT_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), PAGESHOT_KEEP_ALIVE_TIMEOUT_MS: '1000' });
  });
  after(() => server.stop());

  it(`closes ${FLOOD} connections that never finish their request line within the headers deadline, and serves others meanwhile`, async () => {
    const flood = Array.from({ length: FLOOD }, () => slowloris(server.url));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const normal = await server.request('/status');
    assert.equal(normal.status, 200);
    assert.ok(Date.now() - started < 1_000, 'a normal request is answered during the flood');
    const closedAfter = await Promise.all(flood);
    const slowest = Math.max(...closedAfter);
    assert.ok(slowest < CLOSE_WITHIN_MS, `the last slow connection was closed after ${slowest} ms`);
  });

  it('closes an idle keep-alive connection after PAGESHOT_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const closed = await new Promise<number>((resolve, reject) => {
        const request = http.get(`${server.url}/status`, { agent }, (res) => {
          const answered = Date.now();
          res.socket.once('close', () => resolve(Date.now() - answered));
          readReply(res).catch(reject);
        });
        request.on('error', reject);
        setTimeout(() => reject(new Error('the idle connection was still open after 5 s')), 5_000).unref();
      });
      assert.ok(closed < 2_500, `closed after ${closed} ms`);
    } finally {
      agent.destroy();
    }
  });
});
