import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { CaptureEngine } from '../src/capture/engine.js';
import { toCaptureOptions, type CaptureRequest } from '../src/capture/options.js';
import type { PooledContext } from '../src/capture/pooled-context.js';
import type { WarmPool } from '../src/capture/warm-pool.js';
import { loadConfig } from '../src/config.js';
import { ApiError } from '../src/errors.js';
import { captureRequest } from './helpers/capture-request.js';
import { waitFor } from './helpers/processes.js';

const limits = loadConfig({}).limits;

function options(fields: Partial<CaptureRequest>) {
  return toCaptureOptions(captureRequest(limits, { url: 'http://127.0.0.1/', ...fields }), limits);
}

/** A pool whose contexts arrive only after `delayMs`, recording how each is given back. */
function slowPool(delayMs: number) {
  const released: boolean[] = [];
  const context = { closed: false } as unknown as PooledContext;
  const pool = {
    acquire: () => new Promise<PooledContext>((resolve) => setTimeout(() => resolve(context), delayMs)),
    release: (_pooled: PooledContext, reusable: boolean) => released.push(reusable),
  } as unknown as WarmPool;
  return { pool, released };
}

describe('the capture engine', () => {
  for (const fresh of [true, false]) {
    it(`gives a ${fresh ? 'fresh' : 'warm'} context that arrives after the deadline back as ${fresh ? 'not ' : ''}reusable`, async () => {
      const { pool, released } = slowPool(1300);
      const engine = new CaptureEngine(pool, limits, pino({ level: 'silent' }));
      await assert.rejects(engine.capture('caller', options({ fresh, timeout: 1000 })), (error: unknown) => {
        return error instanceof ApiError && error.code === 'RENDER_TIMEOUT';
      });
      await waitFor(() => released.length === 1, 3000, 'the late context to be given back');
      // A fresh context is a throwaway: it must never join the warm pool.
      assert.deepEqual(released, [!fresh]);
    });
  }
});
