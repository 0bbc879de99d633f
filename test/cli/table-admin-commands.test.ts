// The shell's table-administration commands against an in-memory meta: ddd_diagnose's report,
// recommendation, prompts and proposal as Pegasus's shell prints them, recover's node list and
// checks, and the confirmation of set_replica_count.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatLocalTime } from '../../src/base/index.ts';
import { ConfigType, type DddPartitionInfo } from '../../src/wire/index.ts';
import type { MetaReply } from '../../src/cli/shell/index.ts';
import { shellWith } from '../helpers/fake-meta-shell.ts';

const hp = (port: number) => ({ host: '127.0.0.1', port });
const DROP_MS = 1_700_000_000_000n;

/** Partition 2.3: last_drops A, B, C; B and C alive and collected, C ahead. */
function dddPartition(): DddPartitionInfo {
  const node = (port: number, decree: bigint, alive: boolean) => ({
    node: hp(port), hpNode: hp(port), dropTimeMs: DROP_MS, isAlive: alive, isCollected: alive, ballot: 5n, lastCommittedDecree: decree, lastPreparedDecree: decree,
  });
  return {
    config: {
      pid: { appId: 2, partitionIndex: 3 }, ballot: 7n, maxReplicaCount: 3, primary: hp(0), secondaries: [], lastDrops: [hp(1), hp(2), hp(3)],
      lastCommittedDecree: 10n, partitionFlags: 0, hpLastDrops: [hp(1), hp(2), hp(3)],
    },
    dropped: [node(1, 8n, false), node(2, 10n, true), node(3, 12n, true)],
    reason: 'the last dropped members have not both reported',
  };
}

const dropTime = formatLocalTime(new Date(Number(DROP_MS)), true);
const REPORT = `Total 1 ddd partitions:

(1) 2.3
    config: ballot(7), last_committed(10)
    ----
    dropped[0]: node(127.0.0.1:1), drop_time(${dropTime}), alive(false), collected(false), ballot(5), last_committed(8), last_prepared(8)
    dropped[1]: node(127.0.0.1:2), drop_time(${dropTime}), alive(true), collected(true), ballot(5), last_committed(10), last_prepared(10)  <== the secondary latest
    dropped[2]: node(127.0.0.1:3), drop_time(${dropTime}), alive(true), collected(true), ballot(5), last_committed(12), last_prepared(12)  <== the latest
    ----
    last_drops[0]: node(127.0.0.1:1)
    last_drops[1]: node(127.0.0.1:2)  <== the secondary latest
    last_drops[2]: node(127.0.0.1:3)  <== the latest
    ----
    ddd_reason: the last dropped members have not both reported
`;

describe('ddd_diagnose', () => {
  const answers = { RPC_CM_DDD_DIAGNOSE: (): MetaReply<any> => ({ err: 'ERR_OK', response: { err: 'ERR_OK', partitions: [dddPartition()] } }) };
  const propose = (): MetaReply<any> => ({ err: 'ERR_OK', response: { err: 'ERR_OK' } });

  test('prints every partition as Pegasus\'s shell does and asks for all of them by default', async () => {
    const shell = shellWith(answers);
    assert.deepEqual(await shell.run('ddd_diagnose'), { result: 'ok', out: `${REPORT}\nProposed count: 0/1\n\nDiagnose ddd done.\n`, err: '' });
    assert.deepEqual(shell.calls[0], { name: 'RPC_CM_DDD_DIAGNOSE', args: { pid: { appId: -1, partitionIndex: -1 } } });
    await shell.run('ddd_diagnose -g 2');
    await shell.run('ddd_diagnose --gpid 2.3');
    assert.deepEqual(shell.calls.slice(1).map((call) => call.args.pid), [{ appId: 2, partitionIndex: -1 }, { appId: 2, partitionIndex: 3 }]);
  });

  test('-d recommends the alive, collected last member holding the most and proposes it once confirmed', async () => {
    const shell = shellWith({ ...answers, RPC_CM_PROPOSE_BALANCER: propose }, ['y']);
    const run = await shell.run('ddd_diagnose -d');
    assert.equal(run.out, `${REPORT}    ----
    recommend_primary: 127.0.0.1:3  <== the latest
    > Are you sure to use the recommend primary? [y/n/s(skip)]:     propose_request: propose -g 2.3 -p ASSIGN_PRIMARY -t 127.0.0.1:3 -n 127.0.0.1:3
    propose_response: ERR_OK

Proposed count: 1/1

Diagnose ddd done.
`);
    assert.deepEqual(shell.calls[1]!.args, {
      gpid: { appId: 2, partitionIndex: 3 }, force: false,
      actionList: [{ target: hp(3), node: hp(3), type: ConfigType.CT_ASSIGN_PRIMARY, hpTarget: hp(3), hpNode: hp(3) }],
    });
  });

  test('-d: n asks for a primary (again after a bad one), s skips; -a proposes without asking; -s never asks', async () => {
    const typed = shellWith({ ...answers, RPC_CM_PROPOSE_BALANCER: propose }, ['n', 'nowhere', '127.0.0.1:2']);
    const run = await typed.run('ddd_diagnose -d');
    assert.match(run.out, /> Please input the primary node: {5}> Sorry, you have input an invalid node address\.\n {4}> Please input the primary node: /);
    assert.match(run.out, /propose_request: propose -g 2\.3 -p ASSIGN_PRIMARY -t 127\.0\.0\.1:2 -n 127\.0\.0\.1:2\n/);

    const skipped = shellWith({ ...answers, RPC_CM_PROPOSE_BALANCER: propose }, ['s']);
    const skip = await skipped.run('ddd_diagnose -d');
    assert.match(skip.out, /> You have choosed to skip diagnosing this partition\.\n {4}propose_request: none\n\nProposed count: 0\/1/);
    assert.equal(skipped.calls.length, 1);

    const auto = shellWith({ ...answers, RPC_CM_PROPOSE_BALANCER: propose });
    assert.match((await auto.run('ddd_diagnose -d -a')).out, /recommend_primary: 127\.0\.0\.1:3  <== the latest\n {4}propose_request: propose/);

    const silent = shellWith({ ...answers, RPC_CM_DDD_DIAGNOSE: () => {
      const partition = dddPartition();
      partition.dropped = partition.dropped.map((entry) => ({ ...entry, isAlive: false }));
      return { err: 'ERR_OK', response: { err: 'ERR_OK', partitions: [partition] } };
    } });
    assert.match((await silent.run('ddd_diagnose -d -s')).out, /recommend_primary: none\n {4}propose_request: none\n/);
  });

  test('-o writes the report to a file; bad input and a meta error are refused', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-ddd-'));
    try {
      const file = path.join(dir, 'ddd.txt');
      const shell = shellWith(answers);
      assert.deepEqual(await shell.run(`ddd_diagnose -o ${file}`), { result: 'ok', out: 'Diagnose ddd done.\n', err: '' });
      assert.equal(readFileSync(file, 'utf8'), `${REPORT}\nProposed count: 0/1\n\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const shell = shellWith({ RPC_CM_DDD_DIAGNOSE: () => ({ err: 'ERR_APP_NOT_EXIST', response: { err: 'ERR_APP_NOT_EXIST', partitions: [] } }) });
    const bad = await shell.run('ddd_diagnose -g x.y');
    assert.equal(bad.result, 'usage');
    assert.equal(bad.err, 'ERROR: invalid gpid x.y\n');
    assert.deepEqual(await shell.run('ddd_diagnose -g 9'), { result: 'failed', out: '', err: 'ERROR: DDD diagnose failed with err = ERR_APP_NOT_EXIST\n' });
  });
});

describe('set_replica_count', () => {
  test('asks for confirmation up to five times and sends nothing unless confirmed', async () => {
    const answers = { RPC_CM_SET_MAX_REPLICA_COUNT: (): MetaReply<any> => ({ err: 'ERR_OK', response: { err: 'ERR_OK', oldMaxReplicaCount: 3, hintMessage: '' } }) };
    const unsure = shellWith(answers, ['yes', '', 'maybe', 'Y', 'x']);
    const run = await unsure.run('set_replica_count t 2');
    assert.equal(run.out.match(/Are you sure to set the replica count of app\(t\) to 2 \? \[y\/n\]: /g)?.length, 5);
    assert.match(run.out, /too many failed attempts, we will stop !\n$/);
    assert.equal(unsure.calls.length, 0);
    const sure = shellWith(answers, ['y']);
    assert.match((await sure.run('set_replica_count t 2')).out, /set replica count of app\(t\) from 3 to 2: success\n$/);
  });
});

describe('recover', () => {
  const refused = (): MetaReply<any> => ({ err: 'ERR_SERVICE_ALREADY_RUNNING', response: { err: 'ERR_SERVICE_ALREADY_RUNNING', hintMessage: '' } });

  test('sends the nodes once each and prints what Pegasus\'s client prints', async () => {
    const shell = shellWith({ RPC_CM_START_RECOVERY: refused });
    const run = await shell.run('recover -s 127.0.0.1:1,127.0.0.1:2,127.0.0.1:1 -b');
    assert.equal(run.result, 'failed');
    assert.equal(run.out, 'duplicate replica node 127.0.0.1:1, just ingore it\nWait seconds: 100\nSkip bad nodes: true\nSkip lost partitions: false\n'
      + 'Node list:\n=============================\n127.0.0.1:1\n127.0.0.1:2\n=============================\nRecover result: ERR_SERVICE_ALREADY_RUNNING\n');
    assert.deepEqual(shell.calls[0]!.args, {
      recoveryNodes: [hp(1), hp(2)], hpRecoveryNodes: [hp(1), hp(2)], skipBadNodes: true, skipLostPartitions: false,
    });
  });

  test('reads a node file (comments skipped) and writes the report to -o', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pteron-recover-'));
    try {
      const nodes = path.join(dir, 'nodes');
      const report = path.join(dir, 'report');
      writeFileSync(nodes, '# replica servers\n127.0.0.1:1\n\n; old\n 127.0.0.1:3 \n');
      const shell = shellWith({ RPC_CM_START_RECOVERY: refused });
      const run = await shell.run(`recover -f ${nodes} -w 5 -l -o ${report}`);
      assert.equal(run.out, 'recover complete with err = ERR_SERVICE_ALREADY_RUNNING\n');
      assert.match(readFileSync(report, 'utf8'), /^Wait seconds: 5\nSkip bad nodes: false\nSkip lost partitions: true\nNode list:\n=+\n127\.0\.0\.1:1\n127\.0\.0\.1:3\n/);
      writeFileSync(nodes, '127.0.0.1:1\nnowhere\n');
      assert.equal((await shell.run(`recover -f ${nodes}`)).err, `parse nowhere at file ${nodes} line 2 as host:port failed\n`);
      writeFileSync(nodes, '# none\n');
      assert.equal((await shell.run(`recover -f ${nodes}`)).err, `no node specified in file ${nodes}\n`);
      assert.equal((await shell.run(`recover -f ${path.join(dir, 'missing')}`)).err, `open file ${path.join(dir, 'missing')} failed\n`);
      assert.equal(shell.calls.length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses bad options as Pegasus\'s shell does', async () => {
    const shell = shellWith({});
    const cases: Array<[string, string]> = [
      ['recover', 'should specify one of node_list_file/node_list_str\n'],
      ['recover -s 127.0.0.1:1 -f x', 'should only specify one of node_list_file/node_list_str\n'],
      ['recover -s 127.0.0.1:1 -w x', 'parse x as wait_seconds failed\n'],
      ['recover -s 127.0.0.1:1 -w 0', 'invalid wait_seconds 0, should be positive number\n'],
      ['recover -s nowhere', 'parse nowhere as a host:port node failed\n'],
      ['recover -s ,', "can't parse node from node_list_str\n"],
    ];
    for (const [line, err] of cases) assert.equal((await shell.run(line)).err, err, line);
    assert.equal(shell.calls.length, 0);
  });
});
