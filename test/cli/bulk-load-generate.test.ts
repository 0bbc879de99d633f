// `pteron bulk-load generate`: input lines parsed, records routed by Pegasus's key hash, and the
// layout a bulk load reads (bulk_load_info, bulk_load_metadata with md5s that local_service checks).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { partitionIndexOf, recordHash } from '../../src/base/index.ts';
import { LocalBlockService } from '../../src/block/index.ts';
import { generateBulkLoad, parseInputLine } from '../../src/cli/bulk-load-generate.ts';
import { bulkLoadPaths, parseBulkLoadInfo, parseBulkLoadMetadata } from '../../src/cluster/index.ts';
import { decodeKey, decodeValue, readBulkLoadFile } from '../../src/storage/index.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pteron-bulk-generate-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('bulk-load generate input', () => {
  it('parses JSON lines and CSV, and skips empty lines', () => {
    assert.deepEqual(parseInputLine('jsonl', '{"hash_key":"h","sort_key":"s","value":"v","ttl_seconds":60}', 1),
      { hashKey: Buffer.from('h'), sortKey: Buffer.from('s'), value: Buffer.from('v'), ttlSeconds: 60 });
    assert.deepEqual(parseInputLine('csv', 'h,s,a,b,c\r', 1), { hashKey: Buffer.from('h'), sortKey: Buffer.from('s'), value: Buffer.from('a,b,c'), ttlSeconds: 0 });
    assert.equal(parseInputLine('csv', '   ', 1), undefined);
  });

  it('names the line of a bad record', () => {
    assert.throws(() => parseInputLine('jsonl', '{"hash_key":1}', 7), /input line 7: expected/);
    assert.throws(() => parseInputLine('jsonl', 'nope', 8), /input line 8: not JSON/);
    assert.throws(() => parseInputLine('csv', 'only,two', 9), /input line 9: expected hash_key,sort_key,value/);
    assert.throws(() => parseInputLine('jsonl', '{"hash_key":"h","sort_key":"s","value":"v","ttl_seconds":-1}', 3), /ttl_seconds/);
  });
});

describe('bulk-load generate layout', () => {
  it('writes bulk_load_info and per partition its files, routed by the key hash', async () => {
    const input = path.join(scratch, 'data.csv');
    const lines = Array.from({ length: 2000 }, (_, index) => `hash${index},sort${index % 3},value${index}`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = path.join(scratch, 'root');
    const result = await generateBulkLoad({ input, partitionCount: 4, out, clusterName: 'c1', appName: 'tbl', appId: 5, fileBytes: 16 * 1024 });
    assert.equal(result.records, 2000);
    const service = new LocalBlockService(out);
    assert.deepEqual(parseBulkLoadInfo((await service.read(bulkLoadPaths.info('', 'c1', 'tbl'))).toString()), { app_id: 5, app_name: 'tbl', partition_count: 4 });
    let seen = 0;
    for (let partition = 0; partition < 4; partition++) {
      const metadata = parseBulkLoadMetadata((await service.read(bulkLoadPaths.metadata('', 'c1', 'tbl', partition))).toString());
      assert.ok(metadata.files.length > 1, 'small --file-bytes rolls to more files');
      assert.equal(metadata.file_total_size, metadata.files.reduce((sum, file) => sum + file.size, 0));
      for (const file of metadata.files) {
        const remote = `${bulkLoadPaths.partition('', 'c1', 'tbl', partition)}/${file.name}`;
        assert.equal((await service.stat(remote))?.md5, file.md5);
        for await (const block of readBulkLoadFile(path.join(out, remote))) {
          for (const record of block.records) {
            const { hashKey, sortKey } = decodeKey(record.key);
            assert.equal(partitionIndexOf(recordHash(hashKey, sortKey), 4), partition);
            const index = Number(hashKey.toString().slice(4));
            assert.equal(decodeValue(record.value, block.dataVersion).userData.toString(), `value${index}`);
            seen += 1;
          }
        }
      }
    }
    assert.equal(seen, 2000);
  });
});
