/**
 * Writes the README's error table from the one error table (`ERRORS`, src/errors.ts),
 * between `<!-- errors:start -->` and `<!-- errors:end -->`. Run after adding or changing
 * a code: `npm run docs:errors`. test/contract.errors.test.ts fails while they differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERRORS, type ErrorCode, type RetryAdvice } from '../src/errors.js';

/** The markers around the generated table in README.md. */
export const START = '<!-- errors:start -->';
export const END = '<!-- errors:end -->';

const RETRY_WORDS: Record<RetryAdvice, string> = { yes: 'yes', 'at-reset': 'opt-in (at 00:00 UTC)', no: 'no' };

/** The table, one row per code, in the order of `ERRORS`. */
export function errorTable(): string {
  const rows = (Object.keys(ERRORS) as ErrorCode[]).map((code) => {
    const { status, retry, refunded, description } = ERRORS[code];
    return `| ${status} | \`${code}\` | ${RETRY_WORDS[retry]} | ${refunded ? 'yes' : 'no'} | ${description.replace(/\|/g, '\\|')} |`;
  });
  return ['| status | code | clients retry | daily unit refunded | when |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** `readme` with its error table replaced by the current one. */
export function withErrorTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} block`);
  return `${readme.slice(0, start + START.length)}\n${errorTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, withErrorTable(readFileSync(path, 'utf8')));
}
