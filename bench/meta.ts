// The meta bench: time to render /meta/apps?detail and /meta/app?name=T&detail for 100 tables of
// 64 partitions (3 replicas, placed over 3 replica servers), next to GET /version on the same
// in-process server, all over real HTTP on 127.0.0.1.
import { parseArgs } from 'node:util';
import { registerMetaHttpCalls } from '../src/meta/index.ts';
import { createMetaHarness } from '../test/helpers/meta-harness.ts';
import { createServer } from '../src/server/index.ts';
import { httpGet } from './lib/processes.ts';
import { fixed, median, table, timeRuns } from './lib/stats.ts';

const HELP = `usage: npm run bench -- meta [options]
  --tables N       tables to create (default 100)
  --partitions N   partitions per table, a power of two (default 64)
  --iterations N   requests per endpoint (default 50)
`;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { tables: { type: 'string' }, partitions: { type: 'string' }, iterations: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const tables = Number(values.tables ?? 100);
  const partitions = Number(values.partitions ?? 64);
  const iterations = Number(values.iterations ?? 50);

  const setupStart = Date.now();
  const harness = await createMetaHarness({ defaultApps: [] });
  for (let index = 0; index < tables; index++) {
    const created = await harness.state.createApp({ appName: `table_${index}`, partitionCount: partitions, replicaCount: 3 });
    if (created.err !== 'ERR_OK') throw new Error(`create table_${index}: ${created.err} ${created.hintMessage}`);
  }
  await harness.settle();
  const setupMs = Date.now() - setupStart;

  const server = createServer({ role: 'meta', port: 0 });
  registerMetaHttpCalls(server.router, {
    state: harness.state,
    leader: () => ({ self: true }),
    metaServers: () => ['127.0.0.1:34601'],
    selfAddress: () => '127.0.0.1:34601',
  });
  const port = await server.start();
  const base = `http://127.0.0.1:${port}`;
  try {
    const endpoints = [
      { name: 'GET /version', path: '/version' },
      { name: 'GET /meta/apps?detail', path: '/meta/apps?detail' },
      { name: `GET /meta/app?name=table_0&detail`, path: '/meta/app?name=table_0&detail' },
    ];
    const rows = [['endpoint', 'body bytes', 'median ms', 'p90 ms', 'x /version']];
    let versionMedian = 0;
    for (const endpoint of endpoints) {
      const probe = await httpGet(`${base}${endpoint.path}`);
      if (probe.status !== 200) throw new Error(`${endpoint.path} answered ${probe.status}: ${probe.body.toString()}`);
      await timeRuns(5, () => httpGet(`${base}${endpoint.path}`));
      const times = await timeRuns(iterations, () => httpGet(`${base}${endpoint.path}`));
      const sorted = [...times].sort((a, b) => a - b);
      const middle = median(times);
      if (endpoint.path === '/version') versionMedian = middle;
      rows.push([endpoint.name, String(probe.body.length), fixed(middle, 2), fixed(sorted[Math.floor(sorted.length * 0.9)], 2), fixed(middle / versionMedian, 1)]);
    }
    process.stdout.write(
      `meta bench: ${tables} tables x ${partitions} partitions x 3 replicas on 3 nodes ` +
        `(set up in ${setupMs} ms), ${iterations} sequential requests per endpoint, one connection each\n\n${table(rows)}\n`,
    );
  } finally {
    await server.close();
    await harness.state.close();
  }
}
