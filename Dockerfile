# PageShot's container image: Node.js 24, Debian's Chromium, the fonts for every script,
# tini as PID 1, running as uid 1000 with its data in /data.
#
#   docker build -t pageshot .
#   docker run --rm -p 3000:3000 -e API_KEY=… pageshot
#
# BASE_IMAGE lets the same file build where no registry is reachable: build a bookworm
# base locally (scripts/build-base-image.sh) and pass --build-arg BASE_IMAGE=<it>.
ARG BASE_IMAGE=debian:bookworm-slim
# Behind a TLS-intercepting proxy, the build's downloads (Node.js, npm packages) need the
# proxy's CA: mount a bundle into the build and name it here (scripts/test-image.sh does,
# for the CI machine's proxy). Build-time only: nothing of it reaches the runtime image.
ARG EXTRA_CA_BUNDLE=

# ---------------------------------------------------------------------------------------
# Node.js: the official binary from the npm registry (package node-linux-<arch>), checked
# against its pinned SHA-512, as the start scripts install it on an older machine.
FROM ${BASE_IMAGE} AS node
ARG EXTRA_CA_BUNDLE
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY .node-version /src/.node-version
COPY scripts/install-node.sh scripts/node-sums.txt /src/scripts/
RUN env ${EXTRA_CA_BUNDLE:+CURL_CA_BUNDLE=$EXTRA_CA_BUNDLE} bash /src/scripts/install-node.sh /opt/node --with-npm

# ---------------------------------------------------------------------------------------
# Build: compile the TypeScript (service and client SDK), then keep production
# dependencies only. better-sqlite3 compiles here when no prebuilt binary is reachable.
FROM node AS build
ARG EXTRA_CA_BUNDLE
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/node/bin:$PATH \
    npm_config_nodedir=/opt/node \
    npm_config_update_notifier=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN env ${EXTRA_CA_BUNDLE:+NODE_EXTRA_CA_CERTS=$EXTRA_CA_BUNDLE} npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY clients/typescript/package.json clients/typescript/tsconfig.json ./clients/typescript/
COPY clients/typescript/src ./clients/typescript/src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf clients/typescript/src

# ---------------------------------------------------------------------------------------
# Runtime: Chromium, fonts and filter lists from Debian (config/system-packages.txt, the
# list the start scripts install on a host), tini, Node, and the built service.
FROM ${BASE_IMAGE} AS runtime
COPY config/system-packages.txt /tmp/system-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates chromium tini \
      $(sed -e 's/#.*//' /tmp/system-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/system-packages.txt \
 && useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin pageshot \
 && mkdir -p /data \
 && chown pageshot:pageshot /data
COPY --from=node /opt/node/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/clients/typescript ./clients/typescript
COPY config/fonts.conf ./config/fonts.conf

# Listens on every interface inside the container; PORT is honoured (Hugging Face Spaces
# expect 7860: set PORT=7860 or app_port: 3000 in the Space's README). Logs are JSON on
# stdout (LOG_FORMAT=pretty for a terminal). The data directory holds the SQLite store;
# mount a volume on it to keep keys and usage.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PAGESHOT_DATA_DIR=/data \
    PAGESHOT_CHROMIUM_PATH=/usr/bin/chromium
VOLUME ["/data"]
EXPOSE 3000
USER 1000:1000

# Liveness: the process answers HTTP. (Readiness, for orchestrators: GET /readyz.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# tini reaps the zombies a killed Chromium leaves (its renderers are re-parented to PID 1)
# and passes SIGTERM on, so `docker stop` drains captures before the process exits.
# -s: still a subreaper when a runtime's own init (docker run --init) is PID 1.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "dist/cli.js", "serve"]
