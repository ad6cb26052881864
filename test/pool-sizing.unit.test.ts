import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { availableMemoryBytes, cgroupMemoryLimit, MAX_POOL_CONTEXTS, poolSizeForMemory } from '../src/capture/pool-size.js';

const GiB = 1024 ** 3;
const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A fake file-system root holding `files` (paths relative to it). */
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pageshot-cgroup-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

describe('the cgroup memory limit', () => {
  it('is read from cgroup v2 memory.max of the process’s own cgroup', () => {
    const root = fakeRoot({
      'proc/self/cgroup': '0::/app.slice/pageshot.service\n',
      'sys/fs/cgroup/app.slice/pageshot.service/memory.max': `${2 * GiB}\n`,
    });
    assert.equal(cgroupMemoryLimit(root), 2 * GiB);
  });

  it('takes the smallest limit of the cgroup and its ancestors (v2)', () => {
    const root = fakeRoot({
      'proc/self/cgroup': '0::/outer/inner\n',
      'sys/fs/cgroup/outer/inner/memory.max': 'max\n',
      'sys/fs/cgroup/outer/memory.max': `${3 * GiB}\n`,
    });
    assert.equal(cgroupMemoryLimit(root), 3 * GiB);
  });

  it('is undefined when v2 says "max" everywhere', () => {
    const root = fakeRoot({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': 'max\n' });
    assert.equal(cgroupMemoryLimit(root), undefined);
  });

  it('is read from cgroup v1 memory.limit_in_bytes, and v1’s "unlimited" number means none', () => {
    const limited = fakeRoot({
      'proc/self/cgroup': '9:pids:/\n4:memory:/docker/abc\n0::/\n',
      'sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': `${GiB}\n`,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
    });
    assert.equal(cgroupMemoryLimit(limited), GiB);
    const unlimited = fakeRoot({
      'proc/self/cgroup': '4:memory:/docker/abc\n',
      'sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '9223372036854771712\n',
    });
    assert.equal(cgroupMemoryLimit(unlimited), undefined);
  });

  it('finds a container’s limit at its mount’s root when /proc/self/cgroup shows the host’s path', () => {
    const root = fakeRoot({
      'proc/self/cgroup': '4:memory:/kubepods/pod1/abc\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': `${4 * GiB}\n`,
    });
    assert.equal(cgroupMemoryLimit(root), 4 * GiB);
  });

  it('takes the smaller of v1 and v2 on a hybrid machine', () => {
    const root = fakeRoot({
      'proc/self/cgroup': '4:memory:/a\n0::/b\n',
      'sys/fs/cgroup/memory/a/memory.limit_in_bytes': `${5 * GiB}\n`,
      'sys/fs/cgroup/b/memory.max': `${3 * GiB}\n`,
    });
    assert.equal(cgroupMemoryLimit(root), 3 * GiB);
  });

  it('is undefined without /proc/self/cgroup, or with malformed files, and never throws', () => {
    assert.equal(cgroupMemoryLimit(fakeRoot({})), undefined);
    const garbage = fakeRoot({ 'proc/self/cgroup': 'nonsense\n0::/x\n', 'sys/fs/cgroup/x/memory.max': 'lots\n' });
    assert.equal(cgroupMemoryLimit(garbage), undefined);
  });

  it('bounds the available memory when it is below the machine’s', () => {
    const root = fakeRoot({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': `${2 * GiB}\n` });
    assert.equal(availableMemoryBytes(root, 24 * GiB), 2 * GiB);
    assert.equal(availableMemoryBytes(root, GiB), GiB);
    assert.equal(availableMemoryBytes(fakeRoot({}), 24 * GiB), 24 * GiB);
  });
});

describe('the pool’s size by memory', () => {
  const sizing = { availableBytes: 24 * GiB, memoryShare: 0.25, contextMb: 64, maxConcurrency: 4, ceiling: MAX_POOL_CONTEXTS };

  it('is as many contexts as fit in the share of memory', () => {
    assert.equal(poolSizeForMemory(sizing), 96); // 6 GiB / 64 MB
    assert.equal(poolSizeForMemory({ ...sizing, memoryShare: 0.5 }), 192);
    assert.equal(poolSizeForMemory({ ...sizing, availableBytes: 2 * GiB }), 8);
  });

  it('never falls below one context per concurrent capture, nor rises above the ceiling', () => {
    assert.equal(poolSizeForMemory({ ...sizing, availableBytes: 128 * 1024 * 1024 }), 4);
    assert.equal(poolSizeForMemory({ ...sizing, contextMb: 1 }), MAX_POOL_CONTEXTS);
  });
});

/** Asserts that loading `env` throws a ConfigError naming `variable`. */
function assertRejected(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => error instanceof ConfigError && error.message.includes(variable),
  );
}

describe('the pool’s configuration', () => {
  it('sizes the pool by memory unless PAGESHOT_POOL_MAX_CONTEXTS is set, which wins', () => {
    const byMemory = loadConfig({ PAGESHOT_POOL_CONTEXT_MB: '100', PAGESHOT_POOL_MEMORY_SHARE: '0.2' });
    const expected = poolSizeForMemory({
      availableBytes: availableMemoryBytes(),
      memoryShare: 0.2,
      contextMb: 100,
      maxConcurrency: byMemory.maxConcurrency,
      ceiling: MAX_POOL_CONTEXTS,
    });
    assert.equal(byMemory.pool.maxContexts, expected);
    assert.equal(byMemory.pool.sizedBy, 'memory');
    const halved = loadConfig({ PAGESHOT_POOL_CONTEXT_MB: '200', PAGESHOT_POOL_MEMORY_SHARE: '0.2' });
    assert.ok(halved.pool.maxContexts < byMemory.pool.maxContexts || byMemory.pool.maxContexts === byMemory.maxConcurrency);
    const fixed = loadConfig({ PAGESHOT_POOL_MAX_CONTEXTS: '7', PAGESHOT_POOL_CONTEXT_MB: '100' });
    assert.equal(fixed.pool.maxContexts, 7);
    assert.equal(fixed.pool.sizedBy, 'PAGESHOT_POOL_MAX_CONTEXTS');
  });

  it('reports the memory it sized by', () => {
    const config = loadConfig({});
    assert.equal(config.pool.availableMb, Math.round(availableMemoryBytes() / (1024 * 1024)));
    assert.ok(config.pool.memoryShare > 0 && config.pool.memoryShare < 1);
    assert.ok(config.pool.contextMb > 0);
  });

  it('refuses a memory share that is not a fraction from 0.01 to 0.9', () => {
    for (const bad of ['0', '1', '1.5', '-0.2', 'half', '25%', '0.001']) assertRejected({ PAGESHOT_POOL_MEMORY_SHARE: bad }, 'PAGESHOT_POOL_MEMORY_SHARE');
    assert.equal(loadConfig({ PAGESHOT_POOL_MEMORY_SHARE: '.5' }).pool.memoryShare, 0.5);
  });

  it('refuses a per-context figure that is not a whole number of MB', () => {
    for (const bad of ['0', '12.5', 'big', '-3']) assertRejected({ PAGESHOT_POOL_CONTEXT_MB: bad }, 'PAGESHOT_POOL_CONTEXT_MB');
  });
});
