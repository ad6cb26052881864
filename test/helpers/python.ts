import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The Python that runs the Python client's code (`PAGESHOT_TEST_PYTHON`, else python3). */
export const PYTHON = process.env.PAGESHOT_TEST_PYTHON ?? 'python3';

/** Why the Python client cannot run here (no python3, or older than 3.9), or false when it can. */
export function pythonMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import sys; print(sys.version_info >= (3, 9))'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `${PYTHON} is not installed`;
  return probe.stdout.trim() === 'True' ? false : `${PYTHON} is older than 3.9`;
}
