// A ZooKeeper server for tests: Debian's package, on a free loopback port, in a temporary
// directory, with a short tick (500 ms, so sessions can be as short as 1 s) and stopped by PID.
// `restart` keeps the port and the data directory, as a crashed and restarted server would.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startZooKeeperServer, zooKeeperAvailable, type ZooKeeperServer } from '../../src/meta/zk/server.ts';
import { freePort } from './process.ts';

export const TEST_TICK_MS = 500;

export interface TestZooKeeper {
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly hostsList: string;
  readonly dir: string;
  /** The running server's PID (changes with restart). */
  readonly pid: number;
  /** Kills the server (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it serves. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Why ZooKeeper tests cannot run here, or undefined when they can (tests pass it as `skip`). */
export function zooKeeperSkipReason(): string | undefined {
  return zooKeeperAvailable() ? undefined : 'ZooKeeper is not installed (apt-get install -y zookeeper)';
}

export async function startTestZooKeeper(options: { tickTimeMs?: number } = {}): Promise<TestZooKeeper> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-zk-'));
  const port = await freePort();
  const start = (): Promise<ZooKeeperServer> =>
    startZooKeeperServer({ dir, port, tickTimeMs: options.tickTimeMs ?? TEST_TICK_MS, readyTimeoutMs: 30_000 });
  let server: ZooKeeperServer | undefined = await start();
  return {
    port,
    hostsList: `127.0.0.1:${port}`,
    dir,
    get pid() {
      return server?.pid ?? -1;
    },
    async kill(signal = 'SIGKILL') {
      await server?.stop(signal, 3000);
      server = undefined;
    },
    async restart() {
      await server?.stop('SIGKILL', 3000);
      server = await start();
    },
    async destroy() {
      await server?.stop('SIGTERM', 3000);
      server = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
