import { type Config, ConfigError, loadConfig } from './config.js';
import { VERSION } from './version.js';

/** Help of `pageshot` itself: the commands, each with a line on what it does. */
export const MAIN_HELP = `pageshot ${VERSION}: screenshots as a service

Usage:
  pageshot serve [--role all|api|worker]   start the HTTP API
  pageshot shoot <url> -o FILE [options]   take one screenshot without a server
  pageshot shoot <url> --remote URL -o FILE
                                           the same, by the PageShot server at URL
  pageshot keys <command> …                create, list, show, revoke, rotate API keys
  pageshot usage --key ID                  a key's usage per day
  pageshot help [command]                  this help, or a command's
  pageshot --version

Run "pageshot <command> --help" (or -h) for a command's options and their defaults.
Settings are environment variables (PORT, PAGESHOT_DATA_DIR, …): see the README.
`;

/** Help of `pageshot serve`. */
export const SERVE_HELP = `Usage:
  pageshot serve [--role all|api|worker]

Starts the HTTP API. Everything else is configured by environment variables (README,
"Configuration"); the main ones: HOST and PORT (default 0.0.0.0:3000), API_KEY,
PAGESHOT_DATA_DIR (default ./data, from the current directory: keys, usage, audit log),
PAGESHOT_DATABASE_URL (PostgreSQL instead), PAGESHOT_REDIS_URL. The data directory and its
database are created when missing. Stops gracefully on SIGTERM or SIGINT (twice: at once).

Options:
  --role all|api|worker   overrides PAGESHOT_ROLE (default: all). api nodes hand captures
                          to worker nodes through Redis; see docs/deploy.md
  -h, --help              show this help
`;

/**
 * The configuration help texts describe: the one `load` reads (the environment's) when it
 * is valid, else the built-in defaults. Help must work even when a variable is wrong, so it never throws
 * a ConfigError (the command itself will, naming the variable).
 */
export function configForHelp(load: () => Config = () => loadConfig(process.env)): Config {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) return loadConfig({});
    throw error;
  }
}
