import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot } from './helpers/harness.js';
import { waitFor } from './helpers/processes.js';

describe('the warm pool', () => {
  let site: FixtureSite;

  before(async () => {
    site = await startFixtureSite();
  });
  after(async () => {
    await site.close();
  });

  it('reuses one context for one caller’s consecutive captures', async () => {
    const pageshot = await startPageShot();
    try {
      for (let i = 0; i < 4; i++) assert.equal((await pageshot.shoot({ url: `${site.url}/?reuse=${i}` })).status, 200);
      assert.equal(pageshot.app.pool.stats().opened, 1);
    } finally {
      await pageshot.stop();
    }
  });

  it('replaces a context after PAGESHOT_POOL_MAX_USES captures', async () => {
    const pageshot = await startPageShot({ PAGESHOT_POOL_MAX_USES: '2' });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await pageshot.shoot({ url: `${site.url}/?uses=${i}` })).status, 200);
      assert.equal(pageshot.app.pool.stats().opened, 3);
    } finally {
      await pageshot.stop();
    }
  });

  it('keeps at most PAGESHOT_POOL_MAX_CONTEXTS contexts, closing the least recently used', async () => {
    const pageshot = await startPageShot({ PAGESHOT_POOL_MAX_CONTEXTS: '2' });
    try {
      for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
        assert.equal((await pageshot.shoot({ url: `${site.url}/?lru=${from}` }, { from })).status, 200);
      }
      assert.equal(pageshot.app.pool.stats().contexts, 2);
      // 127.0.0.3 is still warm; 127.0.0.2 was evicted and needs a new context.
      const opened = pageshot.app.pool.stats().opened;
      await pageshot.shoot({ url: `${site.url}/?lru=again` }, { from: '127.0.0.3' });
      assert.equal(pageshot.app.pool.stats().opened, opened);
      await pageshot.shoot({ url: `${site.url}/?lru=again` }, { from: '127.0.0.2' });
      assert.equal(pageshot.app.pool.stats().opened, opened + 1);
    } finally {
      await pageshot.stop();
    }
  });

  it('closes contexts left idle longer than PAGESHOT_POOL_IDLE_TIMEOUT_MS', async () => {
    const pageshot = await startPageShot({ PAGESHOT_POOL_IDLE_TIMEOUT_MS: '1000' });
    try {
      assert.equal((await pageshot.shoot({ url: `${site.url}/?idle=1` })).status, 200);
      assert.equal(pageshot.app.pool.stats().contexts, 1);
      await waitFor(() => pageshot.app.pool.stats().contexts === 0, 5000, 'the idle context to close');
    } finally {
      await pageshot.stop();
    }
  });

  it('closes the context of a capture that timed out instead of reusing it', async () => {
    const pageshot = await startPageShot();
    try {
      const reply = await pageshot.shoot({ url: `${site.url}/slow`, timeout: 1000 });
      assert.equal(reply.status, 504);
      await waitFor(() => pageshot.app.pool.stats().contexts === 0, 5000, 'the timed-out context to close');
    } finally {
      await pageshot.stop();
    }
  });
});

describe('logs', () => {
  it('carry the request id but never the query string, which may hold a target URL', async () => {
    const site = await startFixtureSite();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().trim().split('\n'));
        done();
      },
    });
    const pageshot = await startPageShot({}, { logger: createLogger('info', sink) });
    try {
      const secret = 'token-3f9a2c';
      const reply = await pageshot.request(`/screenshot?url=${encodeURIComponent(`${site.url}/?access=${secret}`)}`);
      assert.equal(reply.status, 200);
      const requestId = String(reply.headers['x-request-id']);
      assert.ok(lines.some((line) => line.includes(requestId)), 'the request id is logged');
      assert.ok(lines.every((line) => JSON.parse(line)), 'every line is JSON');
      assert.equal(lines.filter((line) => line.includes(secret)).length, 0, 'the target URL is not logged');
    } finally {
      await pageshot.stop();
      await site.close();
    }
  });
});
