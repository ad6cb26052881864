import { Readable } from 'node:stream';
import type { JobResultStore } from './result-store.js';

/**
 * 256 KiB a read: a 60 MB result is ~240 round trips to Redis (well under a millisecond
 * each on a LAN), while a download holds at most a few chunks in memory.
 */
export const RESULT_CHUNK_BYTES = 256 * 1024;

/**
 * A stored result as a stream of chunks read from the store one at a time, only as fast
 * as the client takes them: the next chunk is read once the previous one has left this
 * stream's buffer (one chunk), so a slow client makes the server wait, not buffer. Piped
 * into a response, a download holds the chunk in the socket's queue, one here and one
 * being read.
 *
 * `size` is what the store said when the download began; a result that goes away (or
 * shrinks) meanwhile ends the stream with an error, which cuts the connection: the client
 * sees fewer bytes than `Content-Length` said, never a wrong image.
 */
export function resultStream(store: Pick<JobResultStore, 'read'>, id: string, size: number, chunkBytes = RESULT_CHUNK_BYTES): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (offset >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(chunkBytes, size - offset);
      store.read(id, offset, length).then(
        (chunk) => {
          if (this.destroyed) return;
          if (chunk.length !== length) {
            this.destroy(new Error(`the result of ${id} went away during its download (${offset + chunk.length} of ${size} bytes)`));
            return;
          }
          offset += length;
          this.push(chunk);
        },
        (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    },
  });
}
