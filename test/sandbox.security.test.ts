import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
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

/** CAP_SYS_NICE: the only capability a root PageShot's Chromium may keep (to raise its threads' priority). */
const CAP_SYS_NICE = 1n << 23n;

/**
 * Effective capabilities of each Chromium process below this test process, by its
 * `--type` ('browser' for the main one), and whether it runs in this process's user
 * namespace: a sandboxed process in a namespace of its own holds capabilities only there.
 */
function chromiumCapabilities(): Array<{ type: string; effective: bigint; hostNamespace: boolean }> {
  const found: Array<{ type: string; effective: bigint; hostNamespace: boolean }> = [];
  const hostNamespace = readlinkSync('/proc/self/ns/user');
  for (const { pid } of descendants(process.pid)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes('chrom')) continue;
      const type = /--type=([a-z-]+)/.exec(cmdline)?.[1] ?? 'browser';
      const hex = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
      found.push({ type, effective: BigInt(`0x${hex}`), hostNamespace: readlinkSync(`/proc/${pid}/ns/user`) === hostNamespace });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
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

    it('as root, leaves Chromium CAP_SYS_NICE and nothing else, and renderers no capability at all', async (t) => {
      if (!isRoot || !machineAllowsSandbox()) {
        t.skip('only a root PageShot with the sandbox on hands Chromium a capability');
        return;
      }
      await rendererOfOneCapture(pageshot, site);
      const processes = chromiumCapabilities();
      const browser = processes.find((entry) => entry.type === 'browser');
      assert.equal(browser?.effective, CAP_SYS_NICE, 'the browser process may raise its threads\' priority');
      for (const entry of processes.filter((candidate) => candidate.hostNamespace)) {
        assert.equal(entry.effective & ~CAP_SYS_NICE, 0n, `${entry.type}: no other capability over the host`);
      }
      const renderers = processes.filter((entry) => entry.type === 'renderer');
      assert.ok(renderers.length > 0);
      for (const renderer of renderers) {
        assert.equal(renderer.effective, 0n, 'a renderer holds no capability');
        assert.equal(renderer.hostNamespace, false, 'a renderer runs in a user namespace of its own');
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
      // Even unsandboxed, a root PageShot still starts Chromium as the unprivileged user,
      // and without the sandbox's namespaces no process of it keeps CAP_SYS_NICE.
      if (isRoot) assert.ok(renderers.every((renderer) => renderer.uid !== 0));
      for (const entry of chromiumCapabilities()) assert.equal(entry.effective, 0n, `${entry.type}: no capability without the sandbox`);
    });
  });
});
