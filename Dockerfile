# pulumi-idp-sync: one image for the daemon (`node dist/src/main.js`) and the workers
# (`node dist/workers/main.js`). Build stage compiles TypeScript; the runtime stage carries
# production dependencies and dist/ only, and runs as the unprivileged `node` user.

FROM node:20-slim AS build
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

FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    SYNC_CONFIG=/etc/pulumi-idp-sync/sync.yaml
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/dist/migrations ./dist/migrations
COPY config/sync.yaml /etc/pulumi-idp-sync/sync.yaml
# Zero-config mode keeps an embedded Postgres under DATA_DIR; give the node user a place for it.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 8080
# The daemon answers /healthz as soon as it listens; orchestrators should use /readyz for traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form), which shuts down in order with deadlines.
CMD ["node", "dist/src/main.js"]
