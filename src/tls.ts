import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { FastifyServerFactory } from 'fastify';
import type { Config, HttpTimeouts } from './config.js';

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new Error(`${variable} names "${file}", which cannot be read.`);
  }
}

/** The certificate and key, read and parsed once at start so a bad file fails first. */
function readTlsOptions(tls: NonNullable<Config['tls']>): https.ServerOptions {
  const options = { cert: readPem(tls.certFile, 'PAGESHOT_TLS_CERT'), key: readPem(tls.keyFile, 'PAGESHOT_TLS_KEY') };
  try {
    createSecureContext(options);
  } catch {
    throw new Error('PAGESHOT_TLS_CERT and PAGESHOT_TLS_KEY must be a PEM certificate and its matching private key.');
  }
  return options;
}

/**
 * Node's client deadlines as server options. Node's defaults (headers 60 s, checked
 * every 30 s) let a client hold a connection for up to 90 s by never finishing its
 * headers; Fastify's keep-alive default (72 s) keeps idle sockets even longer.
 * https://nodejs.org/api/http.html#httpcreateserveroptions-requestlistener
 */
function timeoutOptions(timeouts: HttpTimeouts): http.ServerOptions {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: timeouts.connectionsCheckingIntervalMs,
  };
}

/**
 * The Fastify server factory: plain HTTP, or HTTPS with the configured certificate
 * and key, both with PageShot's client deadlines. The TLS files are read once, now,
 * so a bad file fails start-up before anything else is started.
 */
export function createServerFactory(config: Pick<Config, 'tls' | 'http'>): FastifyServerFactory {
  const options = { ...timeoutOptions(config.http), ...(config.tls ? readTlsOptions(config.tls) : {}) };
  return (handler) => {
    // Fastify drives an https.Server exactly as an http.Server; only the types differ.
    const server = config.tls ? (https.createServer(options, handler) as unknown as http.Server) : http.createServer(options, handler);
    // Not a constructor option on Node 20. Behind a load balancer that reuses connections
    // it must exceed the balancer's idle timeout (so the balancer closes first): configurable.
    server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
    return server;
  };
}
