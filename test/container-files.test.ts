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

/** Every NAME: value under an `environment:` block of a compose file (compose.yaml unless told). */
function composeSettings(file = 'compose.yaml'): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [, name, value] of read(file).matchAll(/^ {4,6}([A-Z][A-Z0-9_]*): (.+)$/gm)) settings[name!] = value!.trim();
  return settings;
}

/** The compose file scripts/test-cluster.sh adds to compose.yaml. */
const CLUSTER_TEST_COMPOSE = 'config/containers/compose.cluster-test.yaml';

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
    const names = [...Object.keys(dockerfileSettings()), ...Object.keys(composeSettings()), ...Object.keys(composeSettings(CLUSTER_TEST_COMPOSE))].filter(
      (name) => !FOREIGN.has(name),
    );
    assert.ok(names.includes('PAGESHOT_DATA_DIR') && names.includes('PAGESHOT_ROLE') && names.includes('PAGESHOT_JOB_LOCK_MS'), 'the parsers found the settings');
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

  it("compose.yaml names the official images and the repository's build by default, each image replaceable through the environment", () => {
    const compose = read('compose.yaml');
    // Users elsewhere get the official images; scripts/test-cluster.sh swaps in ones built from Debian's packages.
    assert.match(compose, /^ {4}image: \$\{PAGESHOT_REDIS_IMAGE:-redis:7-bookworm\}$/m);
    assert.match(compose, /^ {4}image: \$\{PAGESHOT_POSTGRES_IMAGE:-postgres:16-bookworm\}$/m);
    assert.match(compose, /^ {2}build: \.\n {2}image: \$\{PAGESHOT_IMAGE:-pageshot:latest\}$/m);
    const script = read('scripts/test-cluster.sh');
    for (const name of ['PAGESHOT_IMAGE', 'PAGESHOT_REDIS_IMAGE', 'PAGESHOT_POSTGRES_IMAGE']) assert.match(script, new RegExp(`^export ${name}=`, 'm'));
  });

  it('the api and worker health checks are shell strings, which podman-compose 1.0 gives to every replica', () => {
    // A ["CMD", …] list is consumed by the first replica's `podman run`; the second one then fails to start.
    const checks = [...read('compose.yaml').matchAll(/^ {6}test: (.+)$/gm)].map(([, test]) => test!);
    const node = checks.filter((test) => test.includes('/readyz'));
    assert.equal(node.length, 2);
    for (const test of node) assert.match(test, /^node -e "/);
  });

  it("the cluster test's additions scale the workers to two and keep the service names of compose.yaml", () => {
    const additions = read(CLUSTER_TEST_COMPOSE);
    assert.match(additions, /^ {2}worker:\n {4}deploy:\n {6}replicas: 2$/m);
    for (const [, service] of additions.matchAll(/^ {2}([a-z]+):$/gm)) {
      assert.ok(service === 'fixture' || new RegExp(`^ {2}${service}:$`, 'm').test(read('compose.yaml')), `${service} is a service of compose.yaml`);
    }
  });

  it('the Dockerfile installs the system packages the start scripts install, from one list', () => {
    assert.match(read('Dockerfile'), /config\/system-packages\.txt/);
    assert.match(read('scripts/ensure-deps.sh'), /config\/system-packages\.txt/);
  });
});
