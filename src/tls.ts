import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
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
  // Fastify drives an https.Server exactly as an http.Server; only the types differ.
  return (handler) => https.createServer(options, handler) as unknown as http.Server;
}
