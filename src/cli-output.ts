/**
 * The status a command ends with when its reader went away: 128 + SIGPIPE (13), what a
 * shell reports for any program killed by SIGPIPE (`seq 1e6 | head -1`). Node ignores
 * SIGPIPE, so it cannot die of it; it exits with the same status instead, so a script
 * under `set -o pipefail` can still tell that the output was cut short (a new key
 * printed into a closed pipe is lost).
 */
export const EXIT_PIPE_CLOSED = 141;

/** Codes of a write to a stream whose reader has gone. */
const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * Lets the CLI end quietly when standard output is closed early (`pageshot keys list
 * --json | head -1`): without a listener, the stream's EPIPE error is thrown from the
 * event loop and Node prints a stack trace. Any other failure of standard output (a full
 * disk behind `> file`) is one line on standard error and status 1. Errors of standard
 * error itself are dropped: there is nowhere left to report them.
 *
 * @param exit Ends the process; tests pass their own.
 */
export function endQuietlyOnClosedPipe(exit: (code: number) => void = (code) => process.exit(code)): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (CLOSED.has(error.code ?? '')) return exit(EXIT_PIPE_CLOSED);
    try {
      process.stderr.write(`pageshot: cannot write to standard output: ${error.code ?? error.message}\n`);
    } finally {
      exit(1);
    }
  });
  process.stderr.on('error', () => undefined);
}
