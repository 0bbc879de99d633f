// Starts a standalone ZooKeeper server from Debian's `zookeeper` package for onebox clusters and
// tests: `java -cp zookeeper.jar:slf4j-simple.jar ZooKeeperServerMain zoo.cfg` with a generated
// zoo.cfg listening on one loopback port, the admin web server off, ready once the `srvr`
// four-letter command reports a mode (spec deps §3). Stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** Where Debian installs the jars; PTERON_ZOOKEEPER_CLASSPATH overrides the whole class path. */
export const DEBIAN_JAVA_DIR = '/usr/share/java';

export interface ZooKeeperServerOptions {
  /** Holds zoo.cfg, data/ and zookeeper.log. Created if missing; reused across restarts. */
  dir: string;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** ZooKeeper's tick; sessions last between 2 and 20 ticks. Default 2000. */
  tickTimeMs?: number;
  /** How long to wait for `srvr` to report a mode. Default 20 s. */
  readyTimeoutMs?: number;
  /** The `java` to run. Default: JAVA env, then `java` on PATH. */
  java?: string;
  /** Largest request/response the server accepts (jute.maxbuffer). Default 4 MiB. */
  maxBufferBytes?: number;
}

export interface ZooKeeperServer {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** `host:port`, for `[zookeeper] hosts_list`. */
  readonly hostsList: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** Stops the server by its PID (SIGTERM, then SIGKILL after `graceMs`); resolves when it exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** Resolves when the process has exited (for whatever reason). */
  readonly exited: Promise<number | null>;
}

/** The class path: the ZooKeeper jar (its manifest lists its dependencies) and a simple SLF4J binding. */
export function zooKeeperClassPath(): string {
  const fromEnv = process.env.PTERON_ZOOKEEPER_CLASSPATH;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const jar = path.join(DEBIAN_JAVA_DIR, 'zookeeper.jar');
  if (!existsSync(jar)) {
    throw new Error(
      `ZooKeeper is not installed (${jar} is missing): install Debian's package with ` +
        '`apt-get install -y zookeeper`, or set PTERON_ZOOKEEPER_CLASSPATH to its jars',
    );
  }
  const logging = path.join(DEBIAN_JAVA_DIR, 'slf4j-simple.jar');
  return existsSync(logging) ? `${jar}:${logging}` : jar;
}

/** Whether a ZooKeeper server can be started here (the jars are present). */
export function zooKeeperAvailable(): boolean {
  try {
    zooKeeperClassPath();
    return true;
  } catch {
    return false;
  }
}

export function zooCfg(options: { dataDir: string; host: string; port: number; tickTimeMs: number }): string {
  return [
    `tickTime=${options.tickTimeMs}`,
    `dataDir=${options.dataDir}`,
    `clientPort=${options.port}`,
    `clientPortAddress=${options.host}`,
    // Otherwise ZooKeeper 3.5+ also starts its Jetty admin server on port 8080.
    'admin.enableServer=false',
    '4lw.commands.whitelist=srvr,ruok,stat,mntr',
    // Keep a test or onebox data directory small.
    'autopurge.snapRetainCount=3',
    'autopurge.purgeInterval=1',
    '',
  ].join('\n');
}

/** Sends a four-letter command and returns the reply ('' when the server does not answer). */
export function fourLetterWord(host: string, port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect({ host, port });
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => (reply += chunk.toString('utf8')));
    socket.on('end', finish);
    socket.on('error', finish);
  });
}

/** True once the server serves requests (`srvr` shows `Mode:`; `ruok` answers earlier than that). */
export async function zooKeeperReady(host: string, port: number): Promise<boolean> {
  return /^Mode: /m.test(await fourLetterWord(host, port, 'srvr'));
}

/** Starts the server and resolves once it is ready. Throws (after killing it) if it is not. */
export async function startZooKeeperServer(options: ZooKeeperServerOptions): Promise<ZooKeeperServer> {
  const host = options.host ?? '127.0.0.1';
  const tickTimeMs = options.tickTimeMs ?? 2000;
  const dir = path.resolve(options.dir);
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dir, 'zoo.cfg');
  await writeFile(configFile, zooCfg({ dataDir, host, port: options.port, tickTimeMs }));
  const logFile = path.join(dir, 'zookeeper.log');
  const logFd = openSync(logFile, 'a');
  const java = options.java ?? process.env.JAVA ?? 'java';
  let child: ChildProcess;
  try {
    child = spawn(
      java,
      [
        '-Xmx256m',
        `-Djute.maxbuffer=${options.maxBufferBytes ?? 4 * 1024 * 1024}`,
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        `-Dzookeeper.log.dir=${dir}`,
        '-cp', zooKeeperClassPath(),
        'org.apache.zookeeper.server.ZooKeeperServerMain', configFile,
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const server: ZooKeeperServer = {
    pid: child.pid ?? -1,
    host,
    port: options.port,
    hostsList: `${host}:${options.port}`,
    dir,
    child,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`ZooKeeper exited during start-up (${child.exitCode ?? child.signalCode ?? 'spawn failed'}); see ${logFile}`);
    }
    if (await zooKeeperReady(host, options.port)) return server;
    if (Date.now() > deadline) {
      await server.stop('SIGKILL');
      throw new Error(`ZooKeeper on ${host}:${options.port} was not ready after ${options.readyTimeoutMs ?? 20_000} ms; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
