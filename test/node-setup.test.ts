import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import semver from 'semver';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const nodeVersion = read('.node-version').trim();

describe('the Node.js PageShot runs on', () => {
  it('names one exact version, for nvm (.nvmrc) and the rest (.node-version) alike', () => {
    assert.match(nodeVersion, /^24\.\d+\.\d+$/);
    assert.equal(read('.nvmrc').trim(), nodeVersion);
  });

  it("is accepted by package.json's engines, as 22 is, and 20 (past its end of life) is not", () => {
    const { engines } = JSON.parse(read('package.json')) as { engines: { node: string } };
    assert.ok(semver.satisfies(nodeVersion, engines.node));
    assert.ok(semver.satisfies('22.0.0', engines.node));
    assert.ok(!semver.satisfies('20.20.2', engines.node));
  });

  it('satisfies the engines of every package in the lock file, on 24 and on 22 (npm prints no EBADENGINE)', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
    const refusing: string[] = [];
    for (const [name, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (!range) continue;
      for (const version of [nodeVersion, '22.12.0']) {
        if (!semver.satisfies(version, range)) refusing.push(`${name || 'pageshot'} wants node ${range}, not ${version}`);
      }
    }
    assert.deepEqual(refusing, []);
  });

  it('has a SHA-512 for that version on x64 and arm64 in scripts/node-sums.txt', () => {
    const lines = read('scripts/node-sums.txt').split('\n').filter((line) => line && !line.startsWith('#'));
    for (const arch of ['x64', 'arm64']) {
      const line = lines.find((each) => each.startsWith(`node-linux-${arch} ${nodeVersion} `));
      assert.match(line ?? '', /^\S+ \S+ [0-9a-f]{128}$/, `node-linux-${arch} ${nodeVersion}`);
    }
  });
});

/** A tar header block for one regular file (ustar), enough for GNU tar to unpack it. */
function tarEntry(name: string, body: Buffer, mode = 0o755): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100);
  header.write(`${mode.toString(8).padStart(7, '0')}\0`, 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding]);
}

describe('scripts/install-node.sh, against a registry on loopback', () => {
  let registry: Server;
  let registryUrl: string;
  let work: string;
  const requested: string[] = [];
  // A "node" that is a shell script: what an attacker's mirror could serve in its place.
  const planted = gzipSync(Buffer.concat([tarEntry('package/bin/node', Buffer.from('#!/bin/sh\necho pwned\n')), Buffer.alloc(1024)]));

  before(async () => {
    work = realpathSync(mkdtempSync(path.join(tmpdir(), 'pageshot-node-')));
    registry = createServer((request, response) => {
      requested.push(request.url ?? '');
      response.end(planted);
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
  });
  after(async () => {
    await new Promise((resolve) => registry.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses a tarball whose SHA-512 is not the pinned one, and installs nothing', async () => {
    const dest = path.join(work, 'node');
    // Not spawnSync: the registry answers from this very process.
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile('bash', [path.join(root, 'scripts/install-node.sh'), dest], {
        env: { ...process.env, npm_config_registry: registryUrl },
        timeout: 30_000,
      }, (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /does not match its SHA-512/);
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    assert.deepEqual(requested, [`/node-linux-${arch}/-/node-linux-${arch}-${nodeVersion}.tgz`]);
    assert.ok(!existsSync(dest), 'no node folder');
    assert.ok(!existsSync(`${dest}.partial`), 'nothing half unpacked');
  });
});
