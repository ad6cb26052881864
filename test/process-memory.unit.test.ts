import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { chromiumChildPids, chromiumMemory, processTree, treeMemory } from '../src/capture/process-memory.js';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface FakeProcess {
  ppid: number;
  /** argv, written NUL-separated as the kernel does. */
  argv: string[];
  /** kB; no smaps_rollup when absent (a process we may not read). */
  pss?: number;
  rss?: number;
  /** A command name with spaces and parentheses, which `stat` writes unescaped. */
  comm?: string;
}

/** A fake /proc with these processes. */
function fakeProc(processes: Record<number, FakeProcess>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pageshot-proc-'));
  roots.push(root);
  for (const [pid, info] of Object.entries(processes)) {
    const dir = path.join(root, pid);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'stat'), `${pid} (${info.comm ?? 'x'}) S ${info.ppid} ${pid} ${pid} 0 -1 4194304`);
    writeFileSync(path.join(dir, 'cmdline'), `${info.argv.join('\0')}\0`);
    if (info.pss !== undefined) {
      writeFileSync(
        path.join(dir, 'smaps_rollup'),
        `55b72b57b000-7ffd16a14000 ---p 00000000 00:00 0   [rollup]\nRss:   ${info.rss} kB\nPss:   ${info.pss} kB\nPss_Anon:  1 kB\n`,
      );
    }
  }
  mkdirSync(path.join(root, 'self'));
  return root;
}

const NODE = 100;
const proc = fakeProc({
  [NODE]: { ppid: 1, argv: ['node', 'cli.js'], pss: 50_000, rss: 60_000 },
  200: { ppid: NODE, argv: ['/usr/lib/chromium/chromium', '--headless'], pss: 102_400, rss: 204_800, comm: 'chromium (x) y' },
  201: { ppid: 200, argv: ['/usr/lib/chromium/chromium --type=zygote'], pss: 10_240, rss: 51_200 },
  202: { ppid: 201, argv: ['/usr/lib/chromium/chromium --type=renderer'], pss: 40_960, rss: 102_400 },
  203: { ppid: 201, argv: ['/usr/lib/chromium/chromium --type=renderer'] }, // not readable
  300: { ppid: NODE, argv: ['/work/node_modules/@esbuild/linux-x64/bin/esbuild', '--service'], pss: 9_999, rss: 9_999 },
  400: { ppid: 1, argv: ['/usr/lib/chromium/chromium'], pss: 77_777, rss: 77_777 }, // someone else's browser
});

describe('Chromium’s process-tree memory', () => {
  it('walks a process tree from its root through every descendant', () => {
    assert.deepEqual(processTree([200], proc).sort(), [200, 201, 202, 203]);
    assert.deepEqual(processTree([999], proc), [999]);
  });

  it('finds only the Chromium processes this process started', () => {
    assert.deepEqual(chromiumChildPids(NODE, proc), [200]);
  });

  it('sums PSS and RSS over the browser’s tree, leaving out what cannot be read', () => {
    assert.deepEqual(chromiumMemory(NODE, proc), { processes: 3, pssMb: 150, rssMb: 350 });
    assert.deepEqual(treeMemory([202], proc), { processes: 1, pssMb: 40, rssMb: 100 });
  });

  it('is undefined, never an exception, without a browser or without /proc', () => {
    assert.equal(chromiumMemory(400, proc), undefined);
    assert.equal(chromiumMemory(NODE, path.join(proc, 'missing')), undefined);
    assert.equal(treeMemory([203], proc), undefined);
  });
});
