// The fixture site and webhook receiver of scripts/test-cluster.sh, run in a container
// of the compose project (from the PageShot image, for its Node) so that the workers reach
// it by its service name on the project's network, as they would reach any site.
//   GET  /                a teal page (the capture's pixels are checked)
//   GET  /slow/<token>    the first request for a token is held 25 s (a job still running
//                         when its worker is killed); later ones answer at once
//   POST /hook            a webhook delivery: its headers and raw body are kept, 204
//   GET  /log             {"hits": [{path, from, at}], "hooks": [{headers, body, at}]}
// Every page request records the address it came from: which worker loaded it.
'use strict';
const http = require('node:http');

const page = '<!doctype html><style>html,body{margin:0;background:#00a0a0}</style><h1>cluster test</h1>';
const hits = [];
const hooks = [];
const seen = new Set();

http
  .createServer((req, res) => {
    const from = (req.socket.remoteAddress || '').replace(/^::ffff:/, '');
    const at = Date.now();
    if (req.method === 'POST' && req.url === '/hook') {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), from, at });
        res.statusCode = 204;
        res.end();
      });
      return;
    }
    if (req.url === '/log') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hits, hooks }));
      return;
    }
    if (req.url === '/favicon.ico') {
      res.statusCode = 404;
      res.end();
      return;
    }
    hits.push({ path: req.url, from, at });
    const send = () => {
      res.setHeader('content-type', 'text/html');
      res.end(page);
    };
    if (req.url.startsWith('/slow/') && !seen.has(req.url)) {
      seen.add(req.url);
      const timer = setTimeout(send, 25_000);
      req.socket.on('close', () => clearTimeout(timer));
    } else {
      send();
    }
  })
  .listen(8080, '0.0.0.0', () => console.log('fixture listening on 8080'));
