import type http from 'node:http';

/**
 * Pages that leave every kind of browser state behind (mode=set) or report what state
 * they find (mode=read), in the top frame and in an iframe from another origin. Each
 * frame POSTs what it found to /report on its own origin; `#done` appears in the top
 * frame once both frames have reported, so a capture can wait for it.
 */
const FRAME_SCRIPT = `
async function setState() {
  document.cookie = 'k=v; max-age=3600; path=/';
  localStorage.setItem('k', 'v');
  sessionStorage.setItem('k', 'v');
  await new Promise((resolve) => {
    const open = indexedDB.open('isolation', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('s');
    open.onsuccess = () => { open.result.close(); resolve(); };
    open.onerror = resolve;
  });
  await (await caches.open('isolation')).put('/x', new Response('v'));
  try { await navigator.serviceWorker.register('/sw.js'); } catch {}
}
async function readState() {
  const state = { origin: location.origin, top: window === top };
  const attempt = async (name, read) => { try { state[name] = await read(); } catch (e) { state[name] = 'error:' + e.name; } };
  await attempt('cookie', () => document.cookie);
  await attempt('local', () => localStorage.getItem('k'));
  await attempt('session', () => sessionStorage.getItem('k'));
  await attempt('idb', async () => (await indexedDB.databases()).map((d) => d.name));
  await attempt('caches', () => caches.keys());
  await attempt('serviceWorkers', async () => navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0);
  return state;
}
async function run(mode) {
  if (mode === 'set') await setState();
  const state = await readState();
  state.mode = mode;
  await fetch('/report', { method: 'POST', body: JSON.stringify(state) });
}
`;

/** What one frame reported. */
export interface StateReport {
  mode: 'set' | 'read';
  origin: string;
  top: boolean;
  cookie: string;
  local: string | null;
  session: string | null;
  idb: string[] | string;
  caches: string[] | string;
  serviceWorkers: number | string;
}

/**
 * Fixture routes for the state pages. `frameOrigin` is where the iframe comes from;
 * `reports` collects what frames on this server POST to /report.
 */
export function stateRoutes(reports: StateReport[], frameOrigin: () => string) {
  const send = (res: http.ServerResponse, type: string, body: string) => {
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  };
  return {
    '/state': (_req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
      const mode = url.searchParams.get('mode') === 'set' ? 'set' : 'read';
      send(
        res,
        'text/html',
        `<!doctype html><html><body><p>state ${mode}</p>
<iframe src="${frameOrigin()}/state-frame?mode=${mode}"></iframe>
<script>${FRAME_SCRIPT}
const frameDone = new Promise((resolve) => addEventListener('message', (e) => e.data === 'frame-done' && resolve()));
Promise.all([run('${mode}'), frameDone]).then(() => {
  const done = document.createElement('div'); done.id = 'done'; done.textContent = 'done'; document.body.appendChild(done);
});
</script></body></html>`,
      );
    },
    '/state-frame': (_req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
      const mode = url.searchParams.get('mode') === 'set' ? 'set' : 'read';
      send(res, 'text/html', `<!doctype html><html><body><script>${FRAME_SCRIPT}
run('${mode}').finally(() => parent.postMessage('frame-done', '*'));
</script></body></html>`);
    },
    '/sw.js': (_req: http.IncomingMessage, res: http.ServerResponse) => send(res, 'text/javascript', 'self.addEventListener("fetch", () => {});'),
    '/report': (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        reports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as StateReport);
        send(res, 'text/plain', 'ok');
      });
    },
  };
}
