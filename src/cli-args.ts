import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/**
 * A wrong command line (an unknown option, a missing argument). The CLI prints the
 * message and a pointer to the command's `--help` to standard error and exits 2, the
 * usual status for "the command was used wrongly".
 */
export class CliUsageError extends Error {
  /**
   * @param message What was wrong, as a sentence.
   * @param command The command whose help to point at, e.g. `keys create`; empty for `pageshot` itself.
   * @param usage Text printed after the message (a short usage), when the mistake is best answered with it.
   */
  constructor(
    message: string,
    readonly command: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** `-h` / `--help`, accepted by every command. */
export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * True when `args` ask for help (`-h` or `--help`) as an option, not as the value of
 * another option (`--css -h`) nor after `--`. Read leniently, so help wins over any
 * other mistake on the same line (`keys create --bogus --help` shows the help).
 */
export function wantsHelp(args: readonly string[], options: ParseArgsOptionsConfig): boolean {
  const { tokens } = parseArgs({ args: [...args], options: { ...options, ...HELP_FLAG }, strict: false, allowPositionals: true, tokens: true });
  return tokens.some((token) => token.kind === 'option' && token.name === 'help');
}

/** What node's parseArgs returns for `options`, with positionals. */
type Parsed<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>;

/**
 * parseArgs (strict) for `pageshot <command>`, whose mistakes become CliUsageErrors
 * naming the command, so the user is told where the options are listed.
 *
 * @param command The command as typed after `pageshot`, e.g. `keys rotate`.
 */
export function parseCommand<T extends ParseArgsOptionsConfig>(command: string, args: readonly string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as Parsed<T>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw error;
    const unknown = /^Unknown option '([^']*)'/.exec((error as Error).message);
    // Node's own sentence about unknown options talks about positional arguments after `--`, which is rarely the point.
    const message = unknown ? `Unknown option '${unknown[1]}' for "pageshot ${command}".` : `${(error as Error).message.replace(/\.?$/, '.')}`;
    throw new CliUsageError(message, command);
  }
}

/** The sentence that sends a user to a command's help. */
export function helpPointer(command: string): string {
  return `Run "pageshot${command ? ` ${command}` : ''} --help" to see its usage and options.`;
}
