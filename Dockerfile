# One Pteron server per container: docker run pteron meta --config /etc/pteron/meta.ini
# (mount the config and a data volume; see config/*.ini). Not built in CI.
FROM node:20-bookworm-slim
WORKDIR /opt/pteron
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
EXPOSE 34601 34801
VOLUME /var/lib/pteron
ENTRYPOINT ["node", "--import", "tsx", "src/cli/main.ts"]
CMD ["replica", "--config", "/etc/pteron/replica.ini"]
