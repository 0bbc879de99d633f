// `npm run bench -- NAME [options]`: runs one bench from the registry below.
// A bench is a module in bench/ exporting `run(args)`; adding one is a new file plus one line here.

// Benches print their own summary; the servers they start in-process log warnings only.
process.env.PTERON_LOG_LEVEL ??= 'warn';

interface BenchModule {
  run(args: string[]): Promise<void>;
}

interface BenchEntry {
  description: string;
  load: () => Promise<BenchModule>;
}

const BENCHES: Record<string, BenchEntry> = {
  'bulk-load': {
    description: 'records/s of a bulk load (generated files, download, 2PC ingestion) next to multi_set of the same records, 1 meta + 3 replica servers',
    load: () => import('./bulk-load.ts'),
  },
  'http-admin': {
    description: 'GET /version req/s and latency vs bare node:http; /metrics render time with 10,000 metrics',
    load: () => import('./http-admin.ts'),
  },
  kv: {
    description: 'get/set ops/s and p50/p99 through the client against 1 meta + 3 replica servers, 1-replica vs 3-replica tables, 0/100, 50/50 and 95/5, vs classic-level in-process',
    load: () => import('./kv.ts'),
  },
  meta: {
    description: '/meta/apps?detail and /meta/app?detail render time for 100 tables x 64 partitions vs GET /version',
    load: () => import('./meta.ts'),
  },
  storage: {
    description: 'puts in batches, point gets, getMany and scans at the storage-engine level: classic-level vs the RocksDB bindings when installed',
    load: () => import('./storage.ts'),
  },
};

function usage(): string {
  const names = Object.keys(BENCHES);
  const width = Math.max(...names.map((name) => name.length));
  return [
    'usage: npm run bench -- NAME [options]   (NAME --help lists a bench\'s options)',
    '',
    'benches:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${BENCHES[name]!.description}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const entry = Object.hasOwn(BENCHES, name) ? BENCHES[name] : undefined;
  if (!entry) {
    process.stderr.write(`unknown bench "${name}"\n\n${usage()}`);
    return 2;
  }
  const bench = await entry.load();
  await bench.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`bench failed: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(known ? 2 : 1);
  },
);
