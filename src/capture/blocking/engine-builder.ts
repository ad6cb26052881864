import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ENGINE_VERSION, FiltersEngine } from '@ghostery/adblocker';

/** How an engine is parsed from a list (the subset of Ghostery's Config we set). */
export interface EngineConfig {
  loadCosmeticFilters: boolean;
  loadGenericCosmeticsFilters: boolean;
  loadNetworkFilters: boolean;
  /** CSP injection and HTML filtering need response rewriting, which PageShot does not do. */
  loadCSPFilters: false;
  enableHtmlFiltering: false;
}

/**
 * Parses a list in a worker thread: EasyList takes ~1 s of CPU to parse on this
 * machine, which must not stall the event loop of a server that is answering requests.
 * The worker sends back the serialized engine (a few MB, transferred, not copied),
 * which deserializes here in a few milliseconds. The worker loads the package's
 * CommonJS build by absolute path, so it needs no TypeScript loader in either mode
 * (tsx in development, compiled JavaScript in production).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { FiltersEngine } = require(workerData.modulePath);
const bytes = FiltersEngine.parse(workerData.text, workerData.config).serialize();
parentPort.postMessage(bytes, [bytes.buffer]);
`;

const adblockerPath = createRequire(import.meta.url).resolve('@ghostery/adblocker');

/** Workers still parsing, so that shutdown can end them. */
const running = new Set<Worker>();

/** Ends every parse still running (at shutdown); their builds reject. */
export async function stopBuilding(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.terminate()));
}

function parseInWorker(text: string, config: EngineConfig): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath: adblockerPath, text, config } });
    running.add(worker);
    // A parse must never keep a stopping process alive.
    worker.unref();
    worker.once('message', (bytes: Uint8Array) => resolve(bytes));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      running.delete(worker);
      reject(new Error(`the filter list parser stopped (exit code ${code})`));
    });
  });
}

/**
 * The engine for one list file. Its serialized form is kept in `cacheDir` under a name
 * that hashes the list's text, the engine's format version and the config, so a
 * refreshed list or an upgraded package is parsed again, and an unchanged one loads in
 * milliseconds at the next start. A cache that cannot be read or written only costs
 * the parse.
 */
export async function buildEngine(listFile: string, config: EngineConfig, cacheDir: string | undefined): Promise<FiltersEngine> {
  const text = await readFile(listFile, 'utf8');
  const name = path.basename(listFile).replace(/\.[^.]*$/, '');
  const key = createHash('sha256').update(`${ENGINE_VERSION}\n${JSON.stringify(config)}\n${text}`).digest('hex').slice(0, 16);
  const cacheFile = cacheDir === undefined ? undefined : path.join(cacheDir, `${name}-${key}.engine`);
  if (cacheFile !== undefined) {
    const cached = await readFile(cacheFile).catch(() => undefined);
    const engine = cached && deserialize(cached);
    if (engine) return engine;
  }
  const bytes = await parseInWorker(text, config);
  const engine = FiltersEngine.deserialize(bytes);
  if (cacheDir !== undefined && cacheFile !== undefined) await saveToCache(cacheDir, name, cacheFile, bytes).catch(() => undefined);
  return engine;
}

/** A cached engine, or undefined when the file is damaged (it is then built again). */
function deserialize(bytes: Uint8Array): FiltersEngine | undefined {
  try {
    return FiltersEngine.deserialize(bytes);
  } catch {
    return undefined;
  }
}

/** Writes the engine atomically (a reader never sees half a file) and drops older ones of the same list. */
async function saveToCache(cacheDir: string, name: string, cacheFile: string, bytes: Uint8Array): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, cacheFile);
  const stale = (await readdir(cacheDir)).filter((file) => file.startsWith(`${name}-`) && file !== path.basename(cacheFile));
  await Promise.all(stale.map((file) => rm(path.join(cacheDir, file), { force: true })));
}
