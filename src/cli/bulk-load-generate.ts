// `pteron bulk-load generate`: turns a JSON-lines or CSV file of records into the layout a bulk
// load reads from a block service (cluster/bulk-load-layout.ts), as pegasus-spark does for
// Pegasus: bulk_load_info, and per partition its data files (records routed by Pegasus's key
// hash, in the store's record files) and bulk_load_metadata (names, sizes, md5s). `--out` is the
// root directory of a local_service (its `args`), so every file gets the metadata beside it
// that local_service reads.
//
// Input, one record a line (empty lines skipped):
//   .jsonl  {"hash_key": "...", "sort_key": "...", "value": "...", "ttl_seconds": 0}   (ttl optional)
//   .csv    hash_key,sort_key,value            (no quoting: the value is the rest of the line)
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { partitionIndexOf, recordHash } from '../base/crc64.ts';
import { LocalBlockService } from '../block/index.ts';
import {
  BULK_LOAD_DATA_SUFFIX, BULK_LOAD_METADATA_FILE, bulkLoadPaths, type BulkLoadInfo, type BulkLoadMetadata,
} from '../cluster/bulk-load-layout.ts';
import { ConfigError } from '../config/config.ts';
import {
  BulkLoadFileWriter, DATA_VERSION_LATEST, HASH_KEY_LENGTH_LIMIT, encodeKey, encodeValue, now2016Seconds, ttlToExpireTs,
} from '../storage/index.ts';

export const GENERATE_USAGE = `usage: pteron bulk-load generate --input FILE.jsonl|FILE.csv --table-partitions N --out DIR
                                --app NAME --app-id ID [--cluster NAME] [--file-bytes N]
  writes DIR/<cluster>/<app>/bulk_load_info and DIR/<cluster>/<app>/<pidx>/{bulk_load_metadata,*${BULK_LOAD_DATA_SUFFIX}}
  (DIR is a local_service root); --cluster defaults to "onebox", --file-bytes (a data file's size
  before the next one starts) to 64 MiB; .jsonl lines are {"hash_key","sort_key","value"[,"ttl_seconds"]},
  .csv lines hash_key,sort_key,value (the value is the rest of the line)
`;

const FILE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** A progress line on stderr every this many records. */
const PROGRESS_EVERY = 100_000;

export type InputFormat = 'jsonl' | 'csv';

export interface InputRecord {
  hashKey: Buffer;
  sortKey: Buffer;
  value: Buffer;
  ttlSeconds: number;
}

export function inputFormatOf(file: string): InputFormat {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.jsonl' || extension === '.json' || extension === '.ndjson') return 'jsonl';
  if (extension === '.csv') return 'csv';
  throw new ConfigError(`--input ${file}: expected a .jsonl or .csv file`);
}

/** One input line as a record, undefined for an empty line; throws ConfigError naming the line for a bad one. */
export function parseInputLine(format: InputFormat, line: string, lineNumber: number): InputRecord | undefined {
  if (line.trim() === '') return undefined;
  const bad = (why: string): ConfigError => new ConfigError(`input line ${lineNumber}: ${why}`);
  let hashKey: string;
  let sortKey: string;
  let value: string;
  let ttlSeconds = 0;
  if (format === 'csv') {
    const first = line.indexOf(',');
    const second = first < 0 ? -1 : line.indexOf(',', first + 1);
    if (second < 0) throw bad('expected hash_key,sort_key,value');
    hashKey = line.slice(0, first);
    sortKey = line.slice(first + 1, second);
    value = line.slice(second + 1).replace(/\r$/, '');
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw bad('not JSON');
    }
    const record = parsed as Record<string, unknown> | null;
    if (typeof record !== 'object' || record === null || typeof record.hash_key !== 'string' || typeof record.sort_key !== 'string' || typeof record.value !== 'string') {
      throw bad('expected {"hash_key": string, "sort_key": string, "value": string}');
    }
    ({ hash_key: hashKey, sort_key: sortKey, value } = record as { hash_key: string; sort_key: string; value: string });
    if (record.ttl_seconds !== undefined) {
      if (!Number.isSafeInteger(record.ttl_seconds) || (record.ttl_seconds as number) < 0) throw bad('ttl_seconds must be a non-negative integer');
      ttlSeconds = record.ttl_seconds as number;
    }
  }
  const record = { hashKey: Buffer.from(hashKey, 'utf8'), sortKey: Buffer.from(sortKey, 'utf8'), value: Buffer.from(value, 'utf8'), ttlSeconds };
  if (record.hashKey.length >= HASH_KEY_LENGTH_LIMIT) throw bad(`hash key of ${record.hashKey.length} bytes is too long`);
  return record;
}

export interface GenerateOptions {
  input: string;
  partitionCount: number;
  out: string;
  clusterName: string;
  appName: string;
  appId: number;
  fileBytes?: number;
  /** Called every PROGRESS_EVERY records. */
  onProgress?: (records: number) => void;
}

export interface GenerateResult {
  records: number;
  bytes: number;
  /** Records per partition. */
  perPartition: number[];
}

/** One partition's data files as they are written. */
class PartitionFiles {
  private writer: BulkLoadFileWriter | undefined;
  private writerBytes = 0;
  readonly files: string[] = [];
  records = 0;

  constructor(private readonly dir: string, private readonly fileBytes: number) {}

  async add(key: Buffer, value: Buffer): Promise<void> {
    if (this.writer === undefined || this.writerBytes >= this.fileBytes) {
      await this.close();
      const file = path.join(this.dir, `${this.files.length}${BULK_LOAD_DATA_SUFFIX}`);
      this.files.push(file);
      this.writer = new BulkLoadFileWriter(file, DATA_VERSION_LATEST);
      this.writerBytes = 0;
    }
    await this.writer.add({ key, value });
    this.writerBytes += key.length + value.length + 8;
    this.records += 1;
  }

  async close(): Promise<void> {
    const writer = this.writer;
    this.writer = undefined;
    await writer?.close();
  }
}

/** Writes the layout for `options.input`; the local files are staged under `<out>/.staging-<app>` and then put in place. */
export async function generateBulkLoad(options: GenerateOptions): Promise<GenerateResult> {
  const format = inputFormatOf(options.input);
  const service = new LocalBlockService(options.out);
  const staging = path.join(options.out, `.staging-${options.appName}`);
  const partitions: PartitionFiles[] = [];
  for (let index = 0; index < options.partitionCount; index++) {
    const dir = path.join(staging, String(index));
    await mkdir(dir, { recursive: true });
    partitions.push(new PartitionFiles(dir, options.fileBytes ?? FILE_BYTES_DEFAULT));
  }
  const now = now2016Seconds();
  let records = 0;
  let bytes = 0;
  try {
    const lines = createInterface({ input: createReadStream(options.input), crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      const record = parseInputLine(format, line, lineNumber);
      if (record === undefined) continue;
      const key = encodeKey(record.hashKey, record.sortKey);
      const value = encodeValue(DATA_VERSION_LATEST, record.value, ttlToExpireTs(record.ttlSeconds, now));
      const partition = partitionIndexOf(recordHash(record.hashKey, record.sortKey), options.partitionCount);
      await partitions[partition]!.add(key, value);
      records += 1;
      bytes += key.length + value.length;
      if (records % PROGRESS_EVERY === 0) options.onProgress?.(records);
    }
    for (const partition of partitions) await partition.close();
    for (const [index, partition] of partitions.entries()) {
      const metadata: BulkLoadMetadata = { files: [], file_total_size: 0 };
      const remoteDir = bulkLoadPaths.partition('', options.clusterName, options.appName, index);
      for (const file of partition.files) {
        const name = path.basename(file);
        const uploaded = await service.upload(file, `${remoteDir}/${name}`);
        metadata.files.push({ name, size: uploaded.size, md5: uploaded.md5 });
        metadata.file_total_size += uploaded.size;
      }
      await service.write(`${remoteDir}/${BULK_LOAD_METADATA_FILE}`, Buffer.from(JSON.stringify(metadata)));
    }
    const info: BulkLoadInfo = { app_id: options.appId, app_name: options.appName, partition_count: options.partitionCount };
    await service.write(bulkLoadPaths.info('', options.clusterName, options.appName), Buffer.from(JSON.stringify(info)));
  } finally {
    for (const partition of partitions) await partition.close().catch(() => {});
    await rm(staging, { recursive: true, force: true });
  }
  return { records, bytes, perPartition: partitions.map((partition) => partition.records) };
}

function positiveInteger(name: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${name} expects a positive integer, got ${JSON.stringify(text ?? '')}`);
  return value;
}

/** `pteron bulk-load ...`. */
export async function bulkLoadCommand(args: string[]): Promise<void> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h') {
    process.stdout.write(GENERATE_USAGE);
    return;
  }
  if (subcommand !== 'generate') throw new ConfigError(`unknown bulk-load command "${subcommand}"; expected generate`);
  const { values } = parseArgs({
    args: rest,
    options: {
      input: { type: 'string' },
      'table-partitions': { type: 'string' },
      out: { type: 'string' },
      cluster: { type: 'string' },
      app: { type: 'string' },
      'app-id': { type: 'string' },
      'file-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(GENERATE_USAGE);
    return;
  }
  for (const required of ['input', 'out', 'app'] as const) {
    if (values[required] === undefined || values[required] === '') throw new ConfigError(`--${required} is required\n${GENERATE_USAGE}`);
  }
  const started = Date.now();
  const result = await generateBulkLoad({
    input: values.input!,
    partitionCount: positiveInteger('--table-partitions', values['table-partitions']),
    out: values.out!,
    clusterName: values.cluster ?? 'onebox',
    appName: values.app!,
    appId: positiveInteger('--app-id', values['app-id']),
    ...(values['file-bytes'] !== undefined && { fileBytes: positiveInteger('--file-bytes', values['file-bytes']) }),
    onProgress: (records) => process.stderr.write(`bulk-load generate: ${records} records\n`),
  });
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `generated ${result.records} records (${result.bytes} bytes) in ${result.perPartition.length} partitions in ${seconds.toFixed(1)} s: ` +
    `${path.join(values.out!, values.cluster ?? 'onebox', values.app!)}\n`,
  );
}
