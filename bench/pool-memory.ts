/**
 * What one idle warm context costs in memory, measured: PageShot with a large pool takes
 * shots from 1, 2, 4 … N distinct callers (one warm context each), and after every step
 * (resets done) sums PSS and RSS over Chromium's process tree (src/capture/process-memory.ts).
 * The per-context figure is the least-squares slope of PSS against contexts.
 *
 * Two pages: the plain fixture page, and a heavy one (20,000 DOM nodes, ~40 MB of JS
 * objects, a 2560×1440 canvas) to see what a capture of a real page leaves behind in its
 * renderer after the reset (about:blank, storage wiped).
 *
 * Usage: node --import tsx bench/pool-memory.ts [--max=32] [--page=plain|heavy|both]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMemory, type ProcessMemory } from '../src/capture/process-memory.js';
import { startPageShot } from '../test/helpers/harness.js';
import { waitFor } from '../test/helpers/processes.js';
import { argValue } from './lib/args.js';

const HEAVY_PAGE =
  '<!doctype html><html><body><div id="root"></div><canvas id="c" width="2560" height="1440"></canvas><script>' +
  'const root = document.getElementById("root");' +
  'for (let i = 0; i < 20000; i++) { const d = document.createElement("div"); d.textContent = "row " + i; root.appendChild(d); }' +
  'window.keep = Array.from({ length: 400000 }, (_, i) => ({ i, s: "item-" + i, a: [i, i + 1] }));' +
  'const g = document.getElementById("c").getContext("2d"); g.fillStyle = "#39f"; g.fillRect(0, 0, 2560, 1440);' +
  '</script></body></html>';
const PLAIN_PAGE = '<!doctype html><html><body style="margin:0"><div style="width:200px;height:100px;background:red"></div></body></html>';

/** Least-squares slope of y against x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const num = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const den = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function measurePage(kind: 'plain' | 'heavy', max: number): Promise<void> {
  const body = kind === 'heavy' ? HEAVY_PAGE : PLAIN_PAGE;
  const site = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(body);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const server = await startPageShot({ PAGESHOT_POOL_MAX_CONTEXTS: String(max + 4), PAGESHOT_POOL_IDLE_TIMEOUT_MS: '3600000' });
  const points: Array<[number, number]> = [];
  const rows: Array<[number, ProcessMemory | undefined]> = [];
  try {
    const settle = async () => {
      await waitFor(() => server.app.pool.stats().busy === 0, 10_000, 'captures to end');
      await sleep(1_500); // resets run in the background after release
      return chromiumMemory();
    };
    const empty = await settle();
    rows.push([0, empty]);
    if (empty) points.push([0, empty.pssMb]);
    let callers = 0;
    for (let target = 1; target <= max; target *= 2) {
      while (callers < target) {
        callers++;
        const from = `127.0.2.${callers}`;
        const reply = await server.shoot({ url: `${base}/?caller=${callers}` }, { from });
        if (reply.status !== 200) throw new Error(`capture failed: HTTP ${reply.status} ${reply.body.toString().slice(0, 200)}`);
      }
      const memory = await settle();
      rows.push([server.app.pool.stats().contexts, memory]);
      if (memory) points.push([server.app.pool.stats().contexts, memory.pssMb]);
    }
  } finally {
    await server.stop();
    await new Promise<void>((resolve) => site.close(() => resolve()));
  }
  console.log(`\n${kind} page: Chromium's process tree with N idle warm contexts (after reset)`);
  console.log('contexts  processes  PSS MB  RSS MB');
  for (const [contexts, memory] of rows) {
    console.log(`${String(contexts).padStart(8)}  ${String(memory?.processes ?? '-').padStart(9)}  ${String(memory?.pssMb ?? '-').padStart(6)}  ${String(memory?.rssMb ?? '-').padStart(6)}`);
  }
  const rssPoints = rows.filter(([, memory]) => memory).map(([contexts, memory]) => [contexts, memory!.rssMb] as [number, number]);
  console.log(`per idle context: PSS ${slope(points).toFixed(1)} MB, RSS ${slope(rssPoints).toFixed(1)} MB (least-squares slope)`);
}

async function main(): Promise<void> {
  const max = Number(argValue('max') ?? 32);
  const which = argValue('page') ?? 'both';
  if (which === 'plain' || which === 'both') await measurePage('plain', max);
  if (which === 'heavy' || which === 'both') await measurePage('heavy', max);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
