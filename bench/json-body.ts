/**
 * What the JSON depth bound costs per request body: Fastify's own JSON parser (the
 * baseline, what every body cost before) against PageShot's parser (a depth scan of the
 * text, then the same parse), on a typical capture body and on the largest `html` body
 * the default limits accept. No server: the parsers are called as Fastify calls them.
 *
 *   node --import tsx bench/json-body.ts
 */
import Fastify from 'fastify';
import { registerJsonBodyParser } from '../src/http/json-body.js';

type Parser = (request: unknown, body: string, done: (error: Error | null, value?: unknown) => void) => void;

const fastify = Fastify();
const baseline = fastify.getDefaultJsonParser('error', 'error') as unknown as Parser;
// The parser PageShot registers, taken back out of a throwaway instance.
const app = Fastify();
registerJsonBodyParser(app);
const bounded = findParser(app);

function findParser(instance: object): Parser {
  const symbols = Object.getOwnPropertySymbols(instance);
  const holder = symbols.map((symbol) => (instance as Record<symbol, unknown>)[symbol]).find((value) => value && typeof value === 'object' && 'customParsers' in value) as
    | { customParsers: Map<string, { fn: Parser }> }
    | undefined;
  const parser = holder?.customParsers.get('application/json')?.fn;
  if (!parser) throw new Error('could not find the registered JSON parser');
  return parser;
}

function timePerCall(parser: Parser, body: string, iterations: number): number {
  let sink = 0;
  const done = (error: Error | null, value?: unknown) => {
    if (error) throw error;
    sink += value ? 1 : 0;
  };
  for (let i = 0; i < Math.min(iterations, 50); i++) parser({}, body, done); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) parser({}, body, done);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e3;
  if (sink === 0) throw new Error('nothing parsed');
  return elapsed / iterations;
}

const typical = JSON.stringify({ url: 'https://example.com/some/page?x=1', width: 1280, height: 800, fullPage: true, format: 'png', waitUntil: 'load', headers: { 'accept-language': 'en' }, metadata: { order: 42, team: 'web' } });
const html = JSON.stringify({ html: `<!doctype html><p>${'<b>"quoted" {x} [y]</b>'.repeat(40_000)}</p>`, format: 'pdf' });

for (const [name, body, iterations] of [['typical body', typical, 200_000], ['html body', html, 100]] as const) {
  const before = timePerCall(baseline, body, iterations);
  const after = timePerCall(bounded, body, iterations);
  console.log(`${name} (${body.length} chars): Fastify parser ${before.toFixed(2)} µs, with depth bound ${after.toFixed(2)} µs (${((after / before - 1) * 100).toFixed(0)} % more)`);
}
