import { Type, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Count = Type.Integer({ minimum: 0 });

const QueueFiguresSchema = Type.Object(
  {
    waiting: Type.Integer({ minimum: 0, description: 'Jobs waiting for a worker (async and synchronous).' }),
    waitingSync: Type.Integer({ minimum: 0, description: 'Synchronous captures waiting.' }),
    running: Type.Integer({ minimum: 0, description: 'Jobs a worker runs now.' }),
    workers: Type.Integer({ minimum: 0, description: 'Workers connected to the queue.' }),
    slots: Type.Integer({ minimum: 0, description: 'Capture slots the workers announce (their PAGESHOT_MAX_CONCURRENCY, summed).' }),
  },
  { additionalProperties: false },
);

/** `GET /status`: whether this node (or, on an api node, the cluster) takes more work, and why not. */
export const StatusAnswer = Type.Object(
  {
    status: Type.Union([Type.Literal('running'), Type.Literal('busy')], { description: '`busy` exactly when a capture that had to wait would be refused.' }),
    version: Type.String(),
    role: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')]),
    uptimeSeconds: Count,
    system: Type.Object(
      {
        cpuUsage: Type.String({ description: 'The CPU reading admission uses, e.g. `"12%"`.' }),
        cpuCount: Count,
        loadAverage: Type.Array(Type.Number(), { minItems: 3, maxItems: 3 }),
        memory: Type.Object({ processRssMb: Count, systemFreeMb: Count, systemTotalMb: Count }, { additionalProperties: false }),
      },
      { additionalProperties: false },
    ),
    queue: Type.Object(
      {
        activeRequests: Count,
        queuedRequests: Count,
        maxConcurrency: Count,
        baseConcurrency: Type.Optional(
          Type.Integer({
            minimum: 0,
            description:
              'Captures this node runs at once however busy the CPU is; more, up to `maxConcurrency`, only while the CPU has room. Absent on an api node.',
          }),
        ),
        maxQueue: Count,
        queueTimeoutMs: Count,
        refusals: Type.Record(Type.String(), Count, { description: 'Captures this node refused as busy, by code, since it started.' }),
      },
      { additionalProperties: false },
    ),
    browser: Nullable(
      Type.Object(
        {
          state: Type.Union([Type.Literal('starting'), Type.Literal('running'), Type.Literal('restarting'), Type.Literal('stopped')]),
          version: Nullable(Type.String()),
          capturesServed: Count,
          restarts: Count,
          crashes: Count,
          sandbox: Nullable(Type.Union([Type.Literal('on'), Type.Literal('off')], { description: "Chromium's sandbox; null until known." })),
        },
        { additionalProperties: false, description: 'Null on an api node, which has no browser.' },
      ),
    ),
    pool: Nullable(
      Type.Object(
        {
          contexts: Count,
          idle: Count,
          busy: Count,
          maxContexts: Count,
          opened: Count,
          callers: Count,
          evicted: Count,
          memoryPssMb: Type.Optional(Type.Number({ description: "Chromium's process tree, PSS (Linux only)." })),
          memoryRssMb: Type.Optional(Type.Number()),
        },
        { additionalProperties: false, description: 'The warm pool of browser contexts; null on an api node.' },
      ),
    ),
    cluster: Type.Optional(Nullable({ ...QueueFiguresSchema, description: 'The job queue across every node (with Redis); null while Redis cannot say.' })),
  },
  { additionalProperties: false },
);
