import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { FastifyServerFactory } from 'fastify';
import type { Config } from './config.js';

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new Error(`${variable} names "${file}", which cannot be read.`);
  }
}

/**
 * A Fastify server factory for HTTPS with the configured certificate and key, or
 * undefined for plain HTTP. The files are read once, at start.
 */
export function tlsServerFactory(tls: Config['tls']): FastifyServerFactory | undefined {
  if (!tls) return undefined;
  const options = { cert: readPem(tls.certFile, 'PAGESHOT_TLS_CERT'), key: readPem(tls.keyFile, 'PAGESHOT_TLS_KEY') };
  try {
    // Parse now, at start, so a bad file fails before anything else is started.
    createSecureContext(options);
  } catch {
    throw new Error('PAGESHOT_TLS_CERT and PAGESHOT_TLS_KEY must be a PEM certificate and its matching private key.');
  }
  // Fastify drives an https.Server exactly as an http.Server; only the types differ.
  return (handler) => https.createServer(options, handler) as unknown as http.Server;
}
