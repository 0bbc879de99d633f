import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterName, parseDuplicationGroup } from '../../src/cluster/index.ts';
import { ConfigError, setFlagFromText } from '../../src/config/index.ts';
import {
  decodeValue, duplicateRequestCodec, duplicationSyncResponseCodec, DuplicationStatus, encodeValue,
} from '../../src/wire/structs/index.ts';

const entries = (record: Record<string, string>): Map<string, string> => new Map(Object.entries(record));

describe('duplication configuration', () => {
  it('reads the remote clusters and the cluster ids', () => {
    const group = parseDuplicationGroup(
      entries({ backup: '127.0.0.1:35601, 127.0.0.1:35602' }),
      entries({ onebox: '1', backup: '2' }),
    );
    assert.deepEqual(group.metasOf('backup').map((meta) => meta.port), [35601, 35602]);
    assert.equal(group.clusterIdOf('backup'), 2);
    assert.throws(() => group.metasOf('nowhere'), /ERR_OBJECT_NOT_FOUND|failed to find cluster address for nowhere/);
    assert.throws(() => group.clusterIdOf('nowhere'), /failed to get cluster id for nowhere/);
    assert.throws(() => parseDuplicationGroup(new Map(), new Map()).clusterIdOf('a'), /`duplication-group` is not configured/);
  });

  it('refuses ids out of range, shared ids and empty meta lists', () => {
    assert.throws(() => parseDuplicationGroup(new Map(), entries({ a: '0' })), ConfigError);
    assert.throws(() => parseDuplicationGroup(new Map(), entries({ a: '128' })), /should be in \[1, 127\]/);
    assert.throws(() => parseDuplicationGroup(new Map(), entries({ a: 'x' })), ConfigError);
    assert.throws(() => parseDuplicationGroup(new Map(), entries({ a: '3', b: '3' })), /share cluster_id 3/);
    assert.throws(() => parseDuplicationGroup(entries({ a: '' }), new Map()), ConfigError);
    assert.throws(() => parseDuplicationGroup(entries({ a: 'no-port' }), new Map()), ConfigError);
  });

  it('tells which duplicated writes a follower refuses, as Pegasus does', () => {
    const previous = clusterName.value;
    setFlagFromText('cluster_name', 'onebox', true);
    try {
      const group = parseDuplicationGroup(new Map(), entries({ onebox: '1', backup: '2' }));
      assert.equal(group.ownClusterIdOrZero(), 1);
      assert.equal(group.refusalOfClusterId(2), undefined);
      assert.equal(group.refusalOfClusterId(1), 'self-duplicating');
      assert.equal(group.refusalOfClusterId(9), 'request cluster id is unconfigured');
    } finally {
      setFlagFromText('cluster_name', previous, true);
    }
  });
});

describe('duplication structs', () => {
  it('round-trip a DUPLICATE request and a sync response', () => {
    const request = {
      entries: [{ timestamp: 1_700_000_000_000_000n, taskCode: 'RPC_RRDB_RRDB_PUT', rawMessage: Buffer.from([1, 2, 3]), clusterId: 2, verifyTimetag: true }],
    };
    assert.deepEqual(decodeValue(duplicateRequestCodec, encodeValue(duplicateRequestCodec, request)), request);
    const entry = { dupid: 1_700_000_000, status: DuplicationStatus.DS_LOG, remote: 'backup', createTs: 1_700_000_000_000n, progress: new Map([[0, 41n]]) };
    const response = { err: 'ERR_OK', dupMap: new Map([[3, new Map([[entry.dupid, entry]])]]) };
    assert.deepEqual(decodeValue(duplicationSyncResponseCodec, encodeValue(duplicationSyncResponseCodec, response)), response);
  });
});
