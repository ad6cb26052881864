/**
 * The OpenAPI description of a capture's answers (`/screenshot`, `/pdf`, a job's
 * result): the bytes, the headers beside them, and 304 for a client that holds them.
 */

const BINARY = { type: 'string', format: 'binary' } as const;

/** Media types by output format. */
const MEDIA_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', pdf: 'application/pdf' } as const;

/** Headers on every capture answered with bytes. */
export const CAPTURE_HEADERS = {
  etag: { type: 'string', description: 'Strong validator of the bytes; send it back as `If-None-Match` for a 304.' },
  'cache-control': { type: 'string', description: '`private, max-age=N` for a cached result, else `no-store`.' },
  'x-cache': { type: 'string', enum: ['HIT', 'MISS', 'BYPASS'], description: 'What the result cache did.' },
  age: { type: 'string', description: 'Seconds since the cached result was rendered (HIT and MISS).' },
  'server-timing': { type: 'string', description: 'Time in the queue and in each phase of the capture (a cache hit: the lookup).' },
  'x-pageshot-final-url': { type: 'string', description: "The page's address when captured (after redirects); not for `html`." },
  'x-pageshot-target-status': { type: 'string', description: 'The HTTP status of the target\'s document.' },
  'x-pageshot-truncated': { type: 'string', enum: ['true'], description: 'A size cap cut the page or element.' },
  'x-pageshot-pages': { type: 'string', description: 'PDF only: the number of pages.' },
} as const;

/** The success answers of a capture route that can produce `formats`. */
export function captureResponses(formats: ReadonlyArray<keyof typeof MEDIA_TYPES>, description: string) {
  return {
    200: {
      description,
      headers: CAPTURE_HEADERS,
      content: Object.fromEntries(formats.map((format) => [MEDIA_TYPES[format], { schema: BINARY }])),
    },
    304: { description: '`If-None-Match` matched: the client already holds these bytes.', type: 'null' },
  };
}

/** Every output format. */
export const ALL_FORMATS = Object.keys(MEDIA_TYPES) as Array<keyof typeof MEDIA_TYPES>;
