import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** Settings the Dockerfile's runtime stage sets with ENV (after its last FROM). */
function dockerfileSettings(): Record<string, string> {
  const runtime = read('Dockerfile').split(/^FROM /m).at(-1)!;
  const settings: Record<string, string> = {};
  for (const block of runtime.match(/^ENV (?:.*\\\n)*.*$/gm) ?? []) {
    for (const [, name, value] of block.matchAll(/([A-Z][A-Z0-9_]*)=(\S+)/g)) settings[name!] = value!;
  }
  return settings;
}

/** Every NAME: value under an `environment:` block of compose.yaml. */
function composeSettings(): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [, name, value] of read('compose.yaml').matchAll(/^ {4,6}([A-Z][A-Z0-9_]*): (.+)$/gm)) settings[name!] = value!.trim();
  return settings;
}

/** The variables the README's configuration table documents. */
function documented(): Set<string> {
  const readme = read('README.md');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Architecture'));
  return new Set([...table.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map(([, name]) => name!));
}

/** Variables the image or compose set that are not PageShot's own. */
const FOREIGN = new Set(['NODE_ENV', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB']);

describe('the container files name only real settings', () => {
  it("the Dockerfile's ENV and compose.yaml's environment use variables the configuration table documents", () => {
    const names = [...Object.keys(dockerfileSettings()), ...Object.keys(composeSettings())].filter((name) => !FOREIGN.has(name));
    assert.ok(names.includes('PAGESHOT_DATA_DIR') && names.includes('PAGESHOT_ROLE'), 'the parsers found the settings');
    const table = documented();
    assert.deepEqual(names.filter((name) => !table.has(name)), []);
  });

  it("the image's settings load as a valid configuration", () => {
    const config = loadConfig({ ...dockerfileSettings(), API_KEY: 'a-root-key-of-enough-length' });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 3000);
    assert.equal(config.store.dataDir, '/data');
  });

  it('compose.yaml runs one api node and one worker node on the shared Redis and PostgreSQL', () => {
    const compose = read('compose.yaml');
    assert.match(compose, /^ {2}api:\n(?: {4}.*\n|\n)*? {6}PAGESHOT_ROLE: api$/m);
    assert.match(compose, /^ {2}worker:\n(?: {4}.*\n|\n)*? {6}PAGESHOT_ROLE: worker$/m);
    const settings = composeSettings();
    assert.match(settings.PAGESHOT_REDIS_URL ?? '', /^redis:\/\/redis:6379$/);
    assert.match(settings.PAGESHOT_DATABASE_URL ?? '', /^postgres:\/\/.+@postgres:5432\//);
  });

  it('the Dockerfile installs the system packages the start scripts install, from one list', () => {
    assert.match(read('Dockerfile'), /config\/system-packages\.txt/);
    assert.match(read('scripts/ensure-deps.sh'), /config\/system-packages\.txt/);
  });
});
