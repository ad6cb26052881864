import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const CANDIDATE_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function isExecutable(file: string): boolean {
  try {
    // Directories pass the X_OK check too (it means "searchable" for them).
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the Chromium binary: `PAGESHOT_CHROMIUM_PATH` if set (and then only that),
 * else `/usr/bin/chromium`, else the first of chromium / google-chrome on PATH.
 * Throws a message that tells the operator how to fix it.
 */
export function findChromium(configured: string | undefined, searchPath = process.env.PATH ?? ''): string {
  if (configured !== undefined) {
    if (isExecutable(configured)) return configured;
    throw new Error(`PAGESHOT_CHROMIUM_PATH points to "${configured}", which is not an executable file.`);
  }
  if (isExecutable('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    for (const name of CANDIDATE_NAMES) {
      const file = path.join(dir, name);
      if (isExecutable(file)) return file;
    }
  }
  throw new Error(
    'No Chromium found. Install it (Debian/Ubuntu: apt-get install -y chromium) ' +
      'or set PAGESHOT_CHROMIUM_PATH to the browser binary.',
  );
}
