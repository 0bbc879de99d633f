# One Pteron server per container: docker run pteron meta --config /etc/pteron/meta.ini
# (mount the config and a data volume; see config/*.ini). Not built in CI.
# The build stage compiles src/ to dist/; the image runs the compiled JavaScript only.
FROM node:20-bookworm-slim AS build
WORKDIR /opt/pteron
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /opt/pteron
COPY --from=build /opt/pteron /opt/pteron
EXPOSE 34601 34801 34101
VOLUME /var/lib/pteron
ENTRYPOINT ["node", "bin/pteron.js"]
CMD ["replica", "--config", "/etc/pteron/replica.ini"]
