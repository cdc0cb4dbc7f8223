# agent-mcp-gateway as a drop-in for SignalWire's MCP gateway container: it reads
# /app/config.json (SignalWire's format; mount yours over it) and serves the REST API and
# /mcp on port 8080. See docs/deploy.md.

# ---- build: compile TypeScript with the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY config/tsconfig.build.json config/bundle.mjs config/codeCacheLoader.mjs config/
COPY main.ts ./
COPY bin/ bin/
COPY src/ src/
RUN npm run build

# ---- run: production dependencies and the compiled output only ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The two example services, so the shipped example config runs as it is.
COPY tests/fixtures/servers/_shared.mjs tests/fixtures/servers/todo.mjs tests/fixtures/servers/greeter.mjs tests/fixtures/servers/
COPY examples/signalwire/config.json ./config.json
# SignalWire's relative paths (config.json, certs/server.pem, ./sandbox) are read from the
# working directory; only the sandbox folder must be writable by the gateway's user.
RUN mkdir -p sandbox && chown node:node sandbox
USER node
# The environment beats config.json: inside the container the gateway always listens on
# 0.0.0.0:8080, whatever port the mounted config.json names, so the health check below and
# EXPOSE stay right. Map it outside with -p <port>:8080.
ENV GATEWAY_HTTP_HOST=0.0.0.0 \
    GATEWAY_HTTP_PORT=8080
EXPOSE 8080
# /health needs no credential and is never rate limited, so no rate_limiting setting can
# make the container unhealthy. Node's own fetch: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/bin/mcp-gateway.js"]
CMD ["-c", "config.json"]
