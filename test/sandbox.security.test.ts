import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { descendants } from './helpers/processes.js';

/** What the kernel says about one renderer process. */
interface RendererInfo {
  uid: number;
  seccomp: number;
  noNewPrivs: number;
}

/** The renderer processes below this test process, as /proc describes them. */
function rendererProcesses(): RendererInfo[] {
  const found: RendererInfo[] = [];
  for (const { pid } of descendants(process.pid)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? -1);
      found.push({ uid: field('Uid'), seccomp: field('Seccomp'), noNewPrivs: field('NoNewPrivs') });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const isRoot = process.getuid?.() === 0;

/**
 * Whether this machine lets Chromium sandbox itself: it needs unprivileged user
 * namespaces, for the user it runs as (`nobody` when the tests run as root).
 */
function machineAllowsSandbox(): boolean {
  try {
    if (isRoot) execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'unshare', '-U', 'true']);
    else execFileSync('unshare', ['-U', 'true']);
    return true;
  } catch {
    return false;
  }
}

async function rendererOfOneCapture(pageshot: TestServer, site: FixtureSite): Promise<RendererInfo[]> {
  const reply = await pageshot.shoot({ url: `${site.url}/` });
  assert.equal(reply.status, 200);
  const renderers = rendererProcesses();
  assert.ok(renderers.length > 0, 'a renderer process runs for the warm context');
  return renderers;
}

describe("Chromium's sandbox", () => {
  let site: FixtureSite;
  before(async () => {
    site = await startFixtureSite();
  });
  after(async () => {
    await site.close();
  });

  describe('by default (auto)', () => {
    let pageshot: TestServer;
    before(async () => {
      pageshot = await startPageShot();
    });
    after(async () => {
      await pageshot.stop();
    });

    it('is on wherever the machine allows it, and /status says so', async (t) => {
      const status = (await pageshot.request('/status')).json as { browser: { sandbox: string } };
      if (!machineAllowsSandbox()) {
        assert.equal(status.browser.sandbox, 'off');
        t.skip('this machine allows no user namespaces: the sandbox cannot start here');
        return;
      }
      assert.equal(status.browser.sandbox, 'on');
      for (const renderer of await rendererOfOneCapture(pageshot, site)) {
        assert.equal(renderer.seccomp, 2, 'renderers run under a seccomp-bpf filter');
        assert.equal(renderer.noNewPrivs, 1);
        if (isRoot) assert.notEqual(renderer.uid, 0, 'renderers never run as root');
      }
    });
  });

  describe('when turned off', () => {
    let pageshot: TestServer;
    before(async () => {
      pageshot = await startPageShot({ PAGESHOT_CHROMIUM_SANDBOX: 'off' });
    });
    after(async () => {
      await pageshot.stop();
    });

    it('reports sandbox off, and renderers run without a seccomp filter', async () => {
      const status = (await pageshot.request('/status')).json as { browser: { sandbox: string } };
      assert.equal(status.browser.sandbox, 'off');
      const renderers = await rendererOfOneCapture(pageshot, site);
      assert.ok(renderers.every((renderer) => renderer.seccomp === 0));
      // Even unsandboxed, a root PageShot still starts Chromium as the unprivileged user.
      if (isRoot) assert.ok(renderers.every((renderer) => renderer.uid !== 0));
    });
  });
});
