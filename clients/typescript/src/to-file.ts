/**
 * Writing a capture to a file as it arrives, all or nothing: each attempt writes a new
 * hidden file beside the target and only a complete answer is renamed over it, so a
 * failed or retried capture never leaves a partial file (nor appends to one), and an
 * existing file is replaced only by a whole new one.
 */
import { PageShotError } from './errors.js';
import { builtin } from './node-builtins.js';

const NEEDS = 'screenshotToFile()';

/** A complete answer written beside its target, waiting to be renamed over it. */
export interface PartFile {
  path: string;
  bytes: number;
}

function fileError(action: string, path: string, error: unknown): PageShotError {
  const reason = error instanceof Error ? error.message : String(error);
  return new PageShotError(`Could not ${action} ${path}: ${reason}`, { cause: error });
}

/**
 * Refuses early, before a request is spent, a target whose folder is missing or not
 * writable: a render that cannot be stored would only count against the quota.
 */
export async function checkTarget(target: string): Promise<void> {
  const fs = builtin('node:fs/promises', NEEDS);
  const folder = builtin('node:path', NEEDS).dirname(target);
  try {
    await fs.access(folder, fs.constants.W_OK);
  } catch (error) {
    throw fileError('write into the folder of', target, error);
  }
}

/** `.<name>.<random>.part` in the target's folder: the same file system, so the rename is atomic. */
function partPath(target: string): string {
  const path = builtin('node:path', NEEDS);
  const random = builtin('node:crypto', NEEDS).randomBytes(6).toString('hex');
  return path.join(path.dirname(target), `.${path.basename(target)}.${random}.part`);
}

/**
 * Writes `body` to a new part file beside `target` and returns it. Errors reading the
 * body pass through as they are (the transport makes them a `ConnectionError` or
 * `TimeoutError`, which the retry rules judge); errors writing are a `PageShotError`. On
 * any error the part file is removed.
 */
export async function writePart(target: string, body: ReadableStream<Uint8Array> | null): Promise<PartFile> {
  const fs = builtin('node:fs/promises', NEEDS);
  const path = partPath(target);
  let handle: Awaited<ReturnType<typeof fs.open>>;
  try {
    handle = await fs.open(path, 'wx');
  } catch (error) {
    throw fileError('create', path, error);
  }
  let bytes = 0;
  try {
    if (body) {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        try {
          await handle.write(value);
        } catch (error) {
          await reader.cancel().catch(() => undefined);
          throw fileError('write', path, error);
        }
        bytes += value.byteLength;
      }
    }
    // On disk before the rename makes it the target, so a crash never leaves a short file under the real name.
    await handle.sync().catch((error: unknown) => {
      throw fileError('write', path, error);
    });
    await handle.close();
    return { path, bytes };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(path, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Renames a complete part file over the target (replacing any file there). */
export async function commitPart(part: PartFile, target: string): Promise<void> {
  const fs = builtin('node:fs/promises', NEEDS);
  try {
    await fs.rename(part.path, target);
  } catch (error) {
    await fs.rm(part.path, { force: true }).catch(() => undefined);
    throw fileError('rename the capture to', target, error);
  }
}
