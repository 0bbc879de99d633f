// `pteron shell`: the table layout, command-line reading, the printers, the commands against an
// in-memory meta, meta discovery against in-process RPC servers, and the real command against a
// real meta with three replica servers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  formatLocalTime, hostPort, multiTable, renderTableText, renderTables, renderTablesJson, singleTable, type HostPort,
} from '../../src/base/index.ts';
import {
  CommandLineError, createShellSession, findCommand, formatHelp, formatHelpEntry, leaderHint, MetaClient, parseInt32, parseKeyValueList,
  parseOptions, SHELL_COMMANDS, splitCommandLine, wrapUsage, type MetaCaller, type MetaReply,
} from '../../src/cli/shell/index.ts';
import { formatAppDetail, formatAppEnvs, formatAppList, formatClusterInfo, formatNodeList } from '../../src/cluster/index.ts';
import { registerTypedRpc } from '../../src/net/index.ts';
import { createServer, type PteronServer } from '../../src/server/server.ts';
import {
  AppStatus, NodeStatus, PatternMatchType, RPCS, appInfoCodec, partitionConfigurationCodec,
  type AppInfo, type CallDefinition, type PartitionConfiguration, type QueryCfgResponse,
} from '../../src/wire/index.ts';
import { fastClusterSettings, freePort, type RunningProcess, startPteron, waitFor } from '../helpers/process.ts';
import { runShellProcess } from '../helpers/shell-process.ts';

// ---------------------------------------------------------------------------------------------
// fixtures

function appInfo(partial: Partial<AppInfo>): AppInfo {
  return appInfoCodec.create({ status: AppStatus.AS_AVAILABLE, appType: 'pegasus', isStateful: true, maxReplicaCount: 3, envs: new Map(), ...partial });
}

function partition(appId: number, index: number, primary: HostPort | undefined, secondaries: HostPort[], ballot = 3n): PartitionConfiguration {
  return partitionConfigurationCodec.create({
    pid: { appId, partitionIndex: index },
    ballot,
    maxReplicaCount: 3,
    primary: primary ?? hostPort('', 0),
    secondaries,
    hpPrimary: primary ?? hostPort('', 0),
    hpSecondaries: secondaries,
  });
}

const A = hostPort('127.0.0.1', 34801);
const B = hostPort('127.0.0.1', 34802);
const C = hostPort('127.0.0.1', 34803);

type Handler = (args: any) => MetaReply<any> | Promise<MetaReply<any>>;

/** An in-memory meta: canned answers by RPC name, and a record of what was asked. */
class FakeMeta implements MetaCaller {
  readonly calls: Array<{ name: string; args: any }> = [];
  constructor(private readonly handlers: Record<string, Handler>) {}
  async call<A, R extends { err: string }>(rpc: CallDefinition<A, R>, args: A): Promise<MetaReply<R>> {
    this.calls.push({ name: rpc.name, args });
    const handler = this.handlers[rpc.name];
    if (!handler) return { err: 'ERR_HANDLER_NOT_FOUND', response: undefined };
    return handler(args);
  }
  async close(): Promise<void> {}
}

function ok(response: Record<string, unknown>): MetaReply<any> {
  return { err: 'ERR_OK', response: { err: 'ERR_OK', ...response } };
}

/** The usage line a command prints, padded as `help` pads it (to the widest command name). */
function usageLine(name: string): string {
  const width = Math.max(...SHELL_COMMANDS.map((command) => command.name.length));
  return `USAGE: ${formatHelpEntry(findCommand(name)!, width)}`.trimEnd();
}

function session(meta: MetaCaller, currentApp = '') {
  let out = '';
  let err = '';
  const shell = createShellSession(meta, { out: (text) => (out += text), err: (text) => (err += text) }, {
    currentApp, sleep: async () => {}, readyPollMs: 1000, readyWaitMs: 5000, version: 'test',
  });
  return {
    shell,
    run: (line: string) => shell.runLine(line),
    out: () => out,
    err: () => err,
    reset: () => {
      out = '';
      err = '';
    },
  };
}

// ---------------------------------------------------------------------------------------------
// table layout

describe('table printer', () => {
  test('a single table pads names and ": value" cells to the widest plus two, trailing spaces included', () => {
    const text = renderTableText(singleTable('cluster_info', [['meta_servers', '127.0.0.1:34601'], ['primary_meta_server', 'x']]));
    assert.equal(text, [
      '[cluster_info]',
      'meta_servers         : 127.0.0.1:34601',
      'primary_meta_server  : x              ',
      '',
    ].join('\n'));
  });

  test('a multi table pads right-aligned columns on the left, and a group ends each table with an empty line', () => {
    const text = renderTables([
      multiTable('details', ['address', 'status', 'replica_count'], [['127.0.0.1:34801', 'ALIVE', '8'], ['h:1', 'UNALIVE', '12']], ['replica_count']),
      singleTable('summary', [['total_node_count', '2']]),
    ], false);
    assert.equal(text, [
      '[details]',
      'address          status     replica_count',
      '127.0.0.1:34801  ALIVE                  8',
      'h:1              UNALIVE               12',
      '',
      '[summary]',
      'total_node_count  : 2',
      '',
      '',
    ].join('\n'));
  });

  test('a single table without rows prints nothing; a multi table without rows prints its header', () => {
    assert.equal(renderTableText(singleTable('app_envs', [])), '');
    assert.equal(renderTableText(multiTable('t', ['a', 'bb'], [])), '[t]\na  bb  \n');
  });

  test('widths count UTF-8 bytes', () => {
    assert.equal(renderTableText(singleTable('', [['é', '1'], ['abc', '2']])), 'é   : 1\nabc  : 2\n');
  });

  test('JSON keeps insertion order (numeric keys too), duplicate and empty names, and 4-space indent', () => {
    const json = renderTablesJson([
      multiTable('nodes', ['node', 'total'], [['10', '1'], ['9', '2'], ['', '3']]),
      singleTable('empty', []),
      singleTable('summary', [['k', 'v\u0001']]),
    ]);
    assert.equal(json, [
      '{',
      '    "nodes": {',
      '        "10": {',
      '            "node": "10",',
      '            "total": "1"',
      '        },',
      '        "9": {',
      '            "node": "9",',
      '            "total": "2"',
      '        },',
      '        "": {',
      '            "node": "",',
      '            "total": "3"',
      '        }',
      '    },',
      '    "summary": {',
      '        "k": "v\\u0001"',
      '    }',
      '}',
      '',
    ].join('\n'));
    assert.equal(renderTablesJson([multiTable('t', ['a'], [])]), '{\n    "t": {}\n}\n');
  });
});

// ---------------------------------------------------------------------------------------------
// command lines

describe('command lines', () => {
  test('words split on blanks; quotes group words and take escapes', () => {
    assert.deepEqual(splitCommandLine('  ls   -d\t-a  '), ['ls', '-d', '-a']);
    assert.deepEqual(splitCommandLine('set_app_envs k "a b\\tc\\x41\\"" \'it\\\'s\''), ['set_app_envs', 'k', 'a b\tcA"', "it's"]);
    assert.deepEqual(splitCommandLine('a"b c" d'), ['ab c', 'd']);
    assert.deepEqual(splitCommandLine('""'), ['']);
    assert.deepEqual(splitCommandLine(''), []);
    assert.throws(() => splitCommandLine('ls "open'), CommandLineError);
    assert.throws(() => splitCommandLine("ls 'open"), CommandLineError);
    assert.throws(() => splitCommandLine('ls "a"b'), CommandLineError);
  });

  test('options: flags, grouped flags, values in every form, interleaved positionals, --', () => {
    const specs = [
      { short: 'd', long: 'detailed', value: false },
      { short: 'a', long: 'all', value: false },
      { short: 's', long: 'status', value: true },
      { short: 'p', long: 'pattern', value: true },
    ];
    const parsed = parseOptions(['x', '-da', '-s', 'dropped', 'y', '-pfoo', '--', '-z'], specs);
    assert.deepEqual([...parsed.options], [['detailed', ''], ['all', ''], ['status', 'dropped'], ['pattern', 'foo']]);
    assert.deepEqual(parsed.positionals, ['x', 'y', '-z']);
    assert.deepEqual([...parseOptions(['--status=all', '--pattern', 'p', '--detailed'], specs).options], [['status', 'all'], ['pattern', 'p'], ['detailed', '']]);
    assert.throws(() => parseOptions(['-z'], specs), /unknown option '-z'/);
    assert.throws(() => parseOptions(['--zz'], specs), /unknown option '--zz'/);
    assert.throws(() => parseOptions(['-s'], specs), /needs a value/);
    assert.throws(() => parseOptions(['--status'], specs), /needs a value/);
    assert.throws(() => parseOptions(['--detailed=1'], specs), /takes no value/);
  });

  test('int32 and key=value lists', () => {
    assert.equal(parseInt32('8'), 8);
    assert.equal(parseInt32('-3'), -3);
    assert.equal(parseInt32('2147483648'), undefined);
    assert.equal(parseInt32('4x'), undefined);
    assert.equal(parseInt32(''), undefined);
    assert.deepEqual([...parseKeyValueList('a=1, b = x=y ,,c=')], [['a', '1'], ['b', 'x=y'], ['c', '']]);
    assert.deepEqual([...parseKeyValueList('')], []);
    assert.throws(() => parseKeyValueList('a'), CommandLineError);
    assert.throws(() => parseKeyValueList('=1'), CommandLineError);
  });
});

// ---------------------------------------------------------------------------------------------
// printers

describe('printers', () => {
  const created = 1_700_000_000;
  const createdText = formatLocalTime(new Date(created * 1000)).replace(' ', '_');

  test('ls: general_info columns, statuses and times, and a summary of available tables only', () => {
    const text = formatAppList([
      appInfo({ appId: 1, appName: 'temp', partitionCount: 8, createSecond: BigInt(created) }),
      appInfo({
        appId: 2, appName: 'gone', partitionCount: 4, status: AppStatus.AS_DROPPED, createSecond: BigInt(created),
        dropSecond: BigInt(created), expireSecond: BigInt(created), envs: new Map([['default_ttl', '1']]), atomicIdempotent: true,
      }),
    ], { detailed: false, json: false });
    assert.equal(text, [
      '[general_info]',
      'app_id  status     app_name  app_type  partition_count  replica_count  is_stateful  create_time          drop_time            drop_expire          envs_count  atomic_idempotent  ',
      `1       AVAILABLE  temp      pegasus   8                3              true         ${createdText}  -                    -                    0           false              `,
      `2       DROPPED    gone      pegasus   4                3              true         ${createdText}  ${createdText}  ${createdText}  1           true               `,
      '',
      '[summary]',
      'total_app_count  : 1',
      '',
      '',
    ].join('\n'));
  });

  test('ls -d: healthy_info per available table and the health summary', () => {
    const partitions = new Map([[1, [
      partition(1, 0, A, [B, C]),
      partition(1, 1, A, []),
      partition(1, 2, undefined, [B]),
      partition(1, 3, A, [B]),
    ]]]);
    const text = formatAppList([appInfo({ appId: 1, appName: 'temp', partitionCount: 4 })], { detailed: true, json: false, partitionsByAppId: partitions });
    const tail = text.slice(text.indexOf('[healthy_info]'));
    assert.equal(tail, [
      '[healthy_info]',
      'app_id  app_name  partition_count  fully_healthy  unhealthy  write_unhealthy  read_unhealthy  ',
      '1       temp      4                1              3          2                1               ',
      '',
      '[summary]',
      'total_app_count            : 1',
      'fully_healthy_app_count    : 0',
      'unhealthy_app_count        : 1',
      'write_unhealthy_app_count  : 1',
      'read_unhealthy_app_count   : 1',
      '',
      '',
    ].join('\n'));
  });

  test('app -d: parameters, general, replicas, nodes with an unnamed total row, healthy', () => {
    const response: QueryCfgResponse = {
      err: 'ERR_OK', appId: 3, partitionCount: 2, isStateful: true,
      partitions: [partition(3, 0, B, [A, C], 5n), partition(3, 1, undefined, [A], 7n)],
    };
    assert.equal(formatAppDetail('orders', response, { detailed: true, json: false }), [
      '[parameters]',
      'app_name  : orders',
      'detailed  : true  ',
      '',
      '[general]',
      'app_name           : orders',
      'app_id             : 3     ',
      'partition_count    : 2     ',
      'max_replica_count  : 3     ',
      '',
      '[replicas]',
      'pidx  ballot  replica_count  primary          secondaries                        ',
      '0     5       3/3            127.0.0.1:34802  [127.0.0.1:34801,127.0.0.1:34803]  ',
      '1     7       1/3            -                [127.0.0.1:34801]                  ',
      '',
      '[nodes]',
      'node             primary  secondary  total  ',
      '127.0.0.1:34801  0        2          2      ',
      '127.0.0.1:34802  1        0          1      ',
      '127.0.0.1:34803  0        1          1      ',
      '                 1        3          4      ',
      '',
      '[healthy]',
      'fully_healthy_partition_count    : 1',
      'unhealthy_partition_count        : 1',
      'write_unhealthy_partition_count  : 1',
      'read_unhealthy_partition_count   : 1',
      '',
      '',
    ].join('\n'));
    assert.equal(formatAppDetail('orders', response, { detailed: false, json: false }).split('\n\n').length, 3);
  });

  test('nodes -d: sorted by host then port, counts right-aligned, only listed nodes counted', () => {
    const text = formatNodeList([
      { status: NodeStatus.NS_UNALIVE, node: C, hpNode: C },
      { status: NodeStatus.NS_ALIVE, node: A, hpNode: A },
      { status: NodeStatus.NS_ALIVE, node: hostPort('127.0.0.1', 9), hpNode: hostPort('127.0.0.1', 9) },
    ], { detailed: true, json: false, status: 'all', partitions: [partition(1, 0, A, [B, C]), partition(1, 1, C, [A])] });
    assert.equal(text, [
      '[parameters]',
      'status  : all',
      '',
      '[details]',
      'address          status     replica_count  primary_count  secondary_count',
      '127.0.0.1:9      ALIVE                  0              0                0',
      '127.0.0.1:34801  ALIVE                  2              1                1',
      '127.0.0.1:34803  UNALIVE                2              1                1',
      '',
      '[summary]',
      'total_node_count    : 3',
      'alive_node_count    : 2',
      'unalive_node_count  : 1',
      '',
      '',
    ].join('\n'));
    const plain = formatNodeList([{ status: NodeStatus.NS_ALIVE, node: A }], { detailed: false, json: false });
    assert.equal(plain.split('\n').slice(0, 3).join('\n'), '[details]\naddress          status  \n127.0.0.1:34801  ALIVE   ');
  });

  test('cluster_info and app envs (sorted by key bytes; none prints nothing), as text and JSON', () => {
    const info = { err: 'ERR_OK', keys: ['meta_servers', 'primary_meta_server'], values: ['127.0.0.1:34601', '127.0.0.1:34601'] };
    assert.equal(formatClusterInfo(info, false), '[cluster_info]\nmeta_servers         : 127.0.0.1:34601\nprimary_meta_server  : 127.0.0.1:34601\n');
    assert.equal(formatClusterInfo(info, true), '{\n    "cluster_info": {\n        "meta_servers": "127.0.0.1:34601",\n        "primary_meta_server": "127.0.0.1:34601"\n    }\n}\n');
    assert.equal(formatAppEnvs(new Map([['rocksdb.usage_scenario', 'normal'], ['default_ttl', '86400']]), false),
      '[app_envs]\ndefault_ttl             : 86400 \nrocksdb.usage_scenario  : normal\n');
    assert.equal(formatAppEnvs(new Map(), false), '');
  });

  test('help pads names and wraps long usages between options', () => {
    assert.deepEqual(wrapUsage('[-a|--all] [-d|--detailed] <x y>', 21), ['[-a|--all]', '[-d|--detailed] <x y>']);
    assert.deepEqual(wrapUsage('[-a|--all] [-d|--detailed] <x y>', 20), ['[-a|--all]', '[-d|--detailed]', '<x y>']);
    assert.deepEqual(wrapUsage(''), []);
    assert.equal(formatHelp([{ name: 'ls', usage: '[-d]' }, { name: 'exit', usage: '' }]), 'Usage:\n\tls    [-d]\n\texit  \n');
  });
});

// ---------------------------------------------------------------------------------------------
// commands against an in-memory meta

describe('shell commands', () => {
  const temp = appInfo({ appId: 1, appName: 'temp', partitionCount: 2, envs: new Map([['default_ttl', '60']]) });
  const ready = [partition(1, 0, A, [B, C]), partition(1, 1, B, [A, C])];

  test('ls maps -a, -s, -p and -m onto the list request', async () => {
    const meta = new FakeMeta({ RPC_CM_LIST_APPS: () => ok({ infos: [temp] }) });
    const shell = session(meta);
    assert.equal(await shell.run('ls'), 'ok');
    assert.equal(await shell.run('ls -a'), 'ok');
    assert.equal(await shell.run('ls -s dropped -p te'), 'ok');
    assert.equal(await shell.run('ls --status=ALL -p te -m prefix'), 'ok');
    assert.deepEqual(meta.calls.map((call) => call.args), [
      { status: AppStatus.AS_AVAILABLE, appNamePattern: '', matchType: PatternMatchType.PMT_MATCH_ALL },
      { status: AppStatus.AS_INVALID, appNamePattern: '', matchType: PatternMatchType.PMT_MATCH_ALL },
      { status: AppStatus.AS_DROPPED, appNamePattern: 'te', matchType: PatternMatchType.PMT_MATCH_ANYWHERE },
      { status: AppStatus.AS_INVALID, appNamePattern: 'te', matchType: PatternMatchType.PMT_MATCH_PREFIX },
    ]);
    assert.match(shell.out(), /^\[general_info\]\napp_id  status/);
    shell.reset();
    assert.equal(await shell.run('ls -s sleeping'), 'usage');
    assert.match(shell.err(), /unknown table status "sleeping"/);
    assert.match(shell.out(), /^USAGE: \tls +\[-a\|--all\]/);
  });

  test('ls -d and nodes -d query every available table', async () => {
    const meta = new FakeMeta({
      RPC_CM_LIST_APPS: () => ok({ infos: [temp] }),
      RPC_CM_LIST_NODES: () => ok({ infos: [{ status: NodeStatus.NS_ALIVE, node: A }, { status: NodeStatus.NS_ALIVE, node: B }] }),
      RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: () => ok({ appId: 1, partitionCount: 2, isStateful: true, partitions: ready }),
    });
    const shell = session(meta);
    assert.equal(await shell.run('ls -d'), 'ok');
    assert.match(shell.out(), /\n1       temp      2                2              0          0                0               \n/);
    shell.reset();
    assert.equal(await shell.run('nodes -d'), 'ok');
    assert.match(shell.out(), /\n127\.0\.0\.1:34801  ALIVE                 2              1                1\n/);
    assert.deepEqual(meta.calls.map((call) => call.name), [
      'RPC_CM_LIST_APPS', 'RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX', 'RPC_CM_LIST_NODES', 'RPC_CM_LIST_APPS', 'RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX',
    ]);
  });

  test('failures print the Pegasus error name and fail the command', async () => {
    const meta = new FakeMeta({
      RPC_CM_CREATE_APP: () => ({ err: 'ERR_APP_EXIST', response: { err: 'ERR_APP_EXIST', appid: 1 } }),
      RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: () => ({ err: 'ERR_OBJECT_NOT_FOUND', response: undefined }),
      RPC_CM_LIST_NODES: () => ({ err: 'ERR_NETWORK_FAILURE', response: undefined, detail: 'connect ECONNREFUSED' }),
      RPC_CM_DROP_APP: () => ({ err: 'ERR_BUSY_DROPPING', response: { err: 'ERR_BUSY_DROPPING' } }),
      RPC_CM_RECALL_APP: () => ({ err: 'ERR_APP_NOT_EXIST', response: undefined }),
      RPC_CM_CLUSTER_INFO: () => ({ err: 'ERR_FORWARD_TO_OTHERS', response: undefined }),
    });
    const shell = session(meta);
    assert.equal(await shell.run('create temp -f'), 'failed');
    assert.equal(await shell.run('app nosuch'), 'failed');
    assert.equal(await shell.run('nodes'), 'failed');
    assert.equal(await shell.run('drop temp -r 60'), 'failed');
    assert.equal(await shell.run('recall 7'), 'failed');
    assert.equal(await shell.run('cluster_info'), 'failed');
    assert.equal(await shell.run('app bad-name'), 'failed');
    assert.equal(shell.out(), [
      'create app "temp" failed, error = ERR_APP_EXIST',
      'query app nosuch failed, error=ERR_OBJECT_NOT_FOUND',
      'list nodes failed, error=ERR_NETWORK_FAILURE: connect ECONNREFUSED',
      'reserve_seconds = 60',
      'drop app temp failed, error=ERR_BUSY_DROPPING',
      'recall app 7 failed, error=ERR_APP_NOT_EXIST',
      'get cluster info failed, error=ERR_FORWARD_TO_OTHERS',
      'query app bad-name failed, error=ERR_INVALID_PARAMETERS: only 0-9a-zA-Z.:_ are valid in a table name',
      '',
    ].join('\n'));
    const create = meta.calls.find((call) => call.name === 'RPC_CM_CREATE_APP')!.args;
    assert.equal(create.options.successIfExist, false);
    assert.equal(meta.calls.find((call) => call.name === 'RPC_CM_DROP_APP')!.args.options.reserveSeconds, 60n);
  });

  test('create sends the options and waits until every partition is complete', async () => {
    let queries = 0;
    const meta = new FakeMeta({
      RPC_CM_CREATE_APP: () => ok({ appid: 2 }),
      RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: () => {
        queries++;
        if (queries === 1) return { err: 'ERR_INVALID_STATE', response: undefined };
        const partitions = queries === 2 ? [partition(2, 0, A, [B]), partition(2, 1, undefined, [])] : ready;
        return ok({ appId: 2, partitionCount: 2, isStateful: true, partitions });
      },
    });
    const shell = session(meta);
    assert.equal(await shell.run('create orders -p 2 -r 3 -i -e default_ttl=60,rocksdb.usage_scenario=normal'), 'ok');
    assert.equal(shell.out(), [
      'create app orders succeed, waiting for app ready',
      'orders not ready yet, still waiting...',
      'orders not ready yet, still waiting... (0/2)',
      'orders is ready now: (2/2)',
      'orders is ready now!',
      'create app "orders" succeed',
      '',
    ].join('\n'));
    assert.deepEqual(meta.calls[0], {
      name: 'RPC_CM_CREATE_APP',
      args: {
        appName: 'orders',
        options: {
          partitionCount: 2, replicaCount: 3, successIfExist: true, appType: 'pegasus', isStateful: true, atomicIdempotent: true,
          envs: new Map([['default_ttl', '60'], ['rocksdb.usage_scenario', 'normal']]),
        },
      },
    });
    shell.reset();
    assert.equal(await shell.run('create x -p 0'), 'failed');
    assert.equal(shell.out(), 'create app "x" failed, error = ERR_INVALID_PARAMETERS\n');
    assert.equal(await shell.run('create x -p four'), 'usage');
    assert.equal(await shell.run('create x -e novalue'), 'usage');
    assert.equal(await shell.run('create'), 'usage');
  });

  test('create stops waiting after the wait limit but keeps the table', async () => {
    const meta = new FakeMeta({
      RPC_CM_CREATE_APP: () => ok({ appid: 2 }),
      RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: () => ok({ appId: 2, partitionCount: 1, isStateful: true, partitions: [partition(2, 0, undefined, [])] }),
    });
    const shell = session(meta);
    assert.equal(await shell.run('create slow -p 1'), 'ok');
    assert.equal(meta.calls.length, 1 + 5);
    assert.match(shell.out(), /slow is still not ready after 5 seconds\n/);
  });

  test('recall prints the recalled table and waits for it', async () => {
    const meta = new FakeMeta({
      RPC_CM_RECALL_APP: (args) => ok({ info: appInfo({ appId: args.appId, appName: args.newAppName, partitionCount: 2 }) }),
      RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX: () => ok({ appId: 1, partitionCount: 2, isStateful: true, partitions: ready }),
    });
    const shell = session(meta);
    assert.equal(await shell.run('recall 1 back'), 'ok');
    assert.equal(shell.out(), 'recall app ok, id(1), name(back), partition_count(2), wait it ready\nback is ready now: (2/2)\nrecall app 1 succeed\n');
    assert.equal(await shell.run('recall one'), 'usage');
  });

  test('use, and the app-env commands on the current table', async () => {
    const meta = new FakeMeta({
      RPC_CM_LIST_APPS: () => ok({ infos: [appInfo({ appName: 'other' }), temp] }),
      RPC_CM_UPDATE_APP_ENV: (args) => (args.keys?.includes('bad')
        ? { err: 'ERR_INVALID_PARAMETERS', response: { err: 'ERR_INVALID_PARAMETERS', hintMessage: "app_env 'bad' is not supported" } }
        : ok({ hintMessage: args.op === 2 ? 'deleted: default_ttl' : '' })),
    });
    const shell = session(meta);
    assert.equal(await shell.run('get_app_envs'), 'failed');
    assert.equal(await shell.run('set_app_envs default_ttl 1'), 'failed');
    assert.equal(shell.err(), 'No app is using now\nUSAGE: use [app_name]\n'.repeat(2));
    assert.equal(await shell.run('use'), 'usage');
    shell.reset();
    assert.equal(await shell.run('use temp'), 'ok');
    assert.equal(shell.err(), 'OK\n');
    assert.equal(await shell.run('use'), 'ok');
    assert.equal(shell.shell.state.currentApp, 'temp');
    assert.equal(await shell.run('get_app_envs'), 'ok');
    assert.equal(await shell.run('get_app_envs other'), 'ok');
    assert.equal(await shell.run('set_app_envs default_ttl 60 manual_compact.disabled true'), 'ok');
    assert.equal(await shell.run('set_app_envs bad 1'), 'failed');
    assert.equal(await shell.run('set_app_envs default_ttl'), 'usage');
    assert.equal(await shell.run('set_app_envs default_ttl 1 x'), 'failed');
    assert.equal(await shell.run('del_app_envs default_ttl'), 'ok');
    assert.equal(await shell.run('clear_app_envs'), 'usage');
    assert.equal(await shell.run('clear_app_envs -p manual_compact'), 'ok');
    assert.equal(await shell.run('clear_app_envs -a'), 'ok');
    assert.equal(shell.out(), [
      '[app_envs]',
      'default_ttl  : 60',
      'set app envs succeed',
      usageLine('set_app_envs'),
      'del app envs succeed',
      '=============================',
      'deleted: default_ttl',
      '=============================',
      usageLine('clear_app_envs'),
      'clear app envs succeed',
      'clear app envs succeed',
      '',
    ].join('\n'));
    assert.match(shell.err(), /Current app: temp\n/);
    assert.match(shell.err(), /set app envs failed with error ERR_INVALID_PARAMETERS \[hint:"app_env 'bad' is not supported"\]!\n/);
    assert.match(shell.err(), /no value given for key "x"/);
    const updates = meta.calls.filter((call) => call.name === 'RPC_CM_UPDATE_APP_ENV').map((call) => call.args);
    assert.deepEqual(updates, [
      { appName: 'temp', op: 1, keys: ['default_ttl', 'manual_compact.disabled'], values: ['60', 'true'] },
      { appName: 'temp', op: 1, keys: ['bad'], values: ['1'] },
      { appName: 'temp', op: 2, keys: ['default_ttl'] },
      { appName: 'temp', op: 3, clearPrefix: 'manual_compact' },
      { appName: 'temp', op: 3, clearPrefix: '' },
    ]);
    const lists = meta.calls.filter((call) => call.name === 'RPC_CM_LIST_APPS').map((call) => call.args);
    assert.deepEqual(lists[0], { status: AppStatus.AS_AVAILABLE, appNamePattern: 'temp', matchType: PatternMatchType.PMT_MATCH_EXACT });
    assert.equal(lists[1].appNamePattern, 'other');
  });

  test('unknown commands, bad quoting, exit and help', async () => {
    const shell = session(new FakeMeta({}));
    assert.equal(await shell.run('frobnicate'), 'failed');
    assert.match(shell.out(), /^ERROR: invalid subcommand 'frobnicate'\nUsage:\n\thelp /);
    shell.reset();
    assert.equal(await shell.run('use "oops'), 'failed');
    assert.match(shell.out(), /^Invalid argument\(s\)/);
    assert.equal(await shell.run('   '), 'ok');
    assert.equal(await shell.run('exit'), 'exit');
    shell.reset();
    assert.equal(await shell.run('help'), 'ok');
    for (const name of ['ls', 'app', 'nodes', 'cluster_info', 'create', 'drop', 'recall', 'get_app_envs', 'set_app_envs', 'del_app_envs', 'clear_app_envs', 'use', 'help', 'exit']) {
      assert.match(shell.out(), new RegExp(`\\n\\t${name} `), name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// meta discovery against in-process RPC servers

describe('meta discovery', () => {
  const servers: PteronServer[] = [];
  let backupPort = 0;
  let leaderPort = 0;
  let deadPort = 0;
  let notActiveLeft = 0;
  const asked: string[] = [];

  before(async () => {
    const backup = createServer({ role: 'meta', port: 0 });
    const leader = createServer({ role: 'meta', port: 0 });
    servers.push(backup, leader);
    registerTypedRpc(backup.rpc, RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, () => {
      asked.push('backup:query');
      return {
        err: 'ERR_FORWARD_TO_OTHERS', appId: 0, partitionCount: 0, isStateful: true,
        partitions: [partitionConfigurationCodec.create({ primary: hostPort('127.0.0.1', leaderPort), hpPrimary: hostPort('127.0.0.1', leaderPort) })],
      };
    });
    registerTypedRpc(backup.rpc, RPCS.RPC_CM_LIST_APPS, () => {
      asked.push('backup:list');
      return { err: 'ERR_FORWARD_TO_OTHERS', infos: [] };
    });
    registerTypedRpc(leader.rpc, RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, () => {
      asked.push('leader:query');
      if (notActiveLeft > 0) {
        notActiveLeft--;
        return { err: 'ERR_SERVICE_NOT_ACTIVE', appId: 0, partitionCount: 0, isStateful: true, partitions: [] };
      }
      return { err: 'ERR_OK', appId: 5, partitionCount: 1, isStateful: true, partitions: [partition(5, 0, A, [B, C])] };
    });
    registerTypedRpc(leader.rpc, RPCS.RPC_CM_LIST_APPS, () => {
      asked.push('leader:list');
      return { err: 'ERR_OK', infos: [appInfo({ appId: 5, appName: 'found' })] };
    });
    backupPort = await backup.start();
    leaderPort = await leader.start();
    deadPort = await freePort();
  });

  after(async () => {
    for (const server of servers) await server.close();
  });

  const client = (ports: number[]) => new MetaClient(ports.map((port) => hostPort('127.0.0.1', port)), { sleep: async () => {}, timeoutMs: 20_000 });

  test('the leader hint of a partition-config answer is followed, and a not-yet-active leader is asked again', async () => {
    asked.length = 0;
    notActiveLeft = 2;
    const meta = client([deadPort, backupPort]);
    try {
      const reply = await meta.call(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName: 'x', partitionIndices: [] });
      assert.equal(reply.err, 'ERR_OK');
      assert.equal(reply.response!.appId, 5);
      assert.deepEqual(asked, ['backup:query', 'leader:query', 'leader:query', 'leader:query']);
      assert.deepEqual(meta.leader, hostPort('127.0.0.1', leaderPort));
      // The leader is asked first from now on.
      asked.length = 0;
      await meta.call(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_INVALID });
      assert.deepEqual(asked, ['leader:list']);
    } finally {
      await meta.close();
    }
  });

  test('a forward without a hint moves on to the next meta', async () => {
    asked.length = 0;
    const meta = client([backupPort, deadPort, leaderPort]);
    try {
      const reply = await meta.call(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_INVALID });
      assert.equal(reply.err, 'ERR_OK');
      assert.equal(reply.response!.infos[0]!.appName, 'found');
      assert.deepEqual(asked, ['backup:list', 'leader:list']);
    } finally {
      await meta.close();
    }
  });

  test('ERR_SERVICE_NOT_ACTIVE is retried a bounded number of times', async () => {
    notActiveLeft = 100;
    const meta = new MetaClient([hostPort('127.0.0.1', leaderPort)], { sleep: async () => {}, notActiveRetriesMax: 3 });
    try {
      const reply = await meta.call(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, { appName: 'x', partitionIndices: [] });
      assert.equal(reply.err, 'ERR_SERVICE_NOT_ACTIVE');
      assert.equal(notActiveLeft, 100 - 4);
    } finally {
      notActiveLeft = 0;
      await meta.close();
    }
  });

  test('only backups: bounded, ends with ERR_FORWARD_TO_OTHERS; nothing reachable: the transport error', async () => {
    const backups = client([backupPort]);
    const nothing = client([deadPort, deadPort]);
    try {
      assert.equal((await backups.call(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_INVALID })).err, 'ERR_FORWARD_TO_OTHERS');
      const reply = await nothing.call(RPCS.RPC_CM_LIST_APPS, { status: AppStatus.AS_INVALID });
      assert.equal(reply.err, 'ERR_NETWORK_FAILURE');
      assert.match(reply.detail!, /ECONNREFUSED/);
      assert.equal(reply.response, undefined);
    } finally {
      await backups.close();
      await nothing.close();
    }
  });

  test('a frame-level error (no handler) is returned as is', async () => {
    const meta = client([leaderPort]);
    try {
      assert.equal((await meta.call(RPCS.RPC_CM_CLUSTER_INFO, {})).err, 'ERR_HANDLER_NOT_FOUND');
    } finally {
      await meta.close();
    }
  });

  test('leaderHint reads hp_primary first and ignores the invalid address', () => {
    assert.equal(leaderHint({ partitions: [] }), undefined);
    assert.equal(leaderHint({ partitions: [partitionConfigurationCodec.create({})] }), undefined);
    assert.deepEqual(leaderHint({ partitions: [partitionConfigurationCodec.create({ primary: A, hpPrimary: B })] }), B);
  });
});

// ---------------------------------------------------------------------------------------------
// the real command against a real cluster

describe('pteron shell against a meta and three replica servers', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-shell-'));
  let metaPort = 0;
  let meta: RunningProcess;
  const replicas: RunningProcess[] = [];
  const replicaPorts: number[] = [];
  let backup: PteronServer | undefined;
  let backupPort = 0;

  const settings = (): string[] => fastClusterSettings(metaPort, 'shell-test');

  const shellMeta = () => ['--meta', `127.0.0.1:${metaPort}`];

  before(async () => {
    metaPort = await freePort();
    for (let index = 0; index < 3; index++) replicaPorts.push(await freePort());
    meta = await startPteron('meta', {
      port: metaPort,
      args: [
        ...settings(),
        '--set', `core.data_dir=${path.join(dataRoot, 'meta')}`,
        '--set', 'meta_server.min_live_node_count_for_unfreeze=1',
        '--set', 'meta_server.apps.temp.partition_count=8',
        '--set', 'meta_server.apps.temp.max_replica_count=3',
      ],
    });
    for (let index = 0; index < 3; index++) {
      replicas.push(await startPteron('replica', {
        port: replicaPorts[index],
        args: [...settings(), '--set', `core.data_dir=${path.join(dataRoot, `replica${index + 1}`)}`],
      }));
    }
    await waitFor('table temp fully healthy', async () => {
      const response = await fetch(`${meta.url}/meta/app?name=temp&detail`);
      const body = (await response.json()) as { healthy: Record<string, string> };
      return body.healthy.fully_healthy_partition_count === '8';
    }, 60_000, 200);
  });

  after(async () => {
    await backup?.close();
    for (const replica of replicas) await replica.stop('SIGKILL');
    await meta?.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('cluster_info, nodes -d, ls -d and app -d describe the running cluster', async () => {
    const run = await runShellProcess([...shellMeta(), '-e', 'cluster_info', '-e', 'nodes -d', '-e', 'ls -d', '-e', 'app temp -d']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const out = run.stdout;
    assert.match(out, /^\[cluster_info\]\n/);
    assert.match(out, new RegExp(`\\nprimary_meta_server +: 127\\.0\\.0\\.1:${metaPort} *\\n`));
    assert.match(out, /\n\[details\]\naddress +status +replica_count +primary_count +secondary_count\n/);
    for (const port of replicaPorts) assert.match(out, new RegExp(`\\n127\\.0\\.0\\.1:${port}  ALIVE +8 +\\d +\\d\\n`));
    assert.match(out, /\ntotal_node_count +: 3\nalive_node_count +: 3\nunalive_node_count +: 0\n/);
    assert.match(out, /\n1 +AVAILABLE +temp +pegasus +8 +3 +true +\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d +- +- +0 +false +\n/);
    assert.match(out, /\n\[healthy_info\]\n.*\n1 +temp +8 +8 +0 +0 +0 +\n/);
    assert.match(out, /\ntotal_app_count +: 1\nfully_healthy_app_count +: 1\n/);
    const replicaRows = out.match(/\n[0-7] +\d+ +3\/3 +127\.0\.0\.1:\d+ +\[127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\] +(?=\n)/g) ?? [];
    assert.equal(replicaRows.length, 8, out);
    assert.match(out, /\n {17}8 {8}16 {9}24 {5}\n/);
    assert.match(out, /\nfully_healthy_partition_count +: 8\nunhealthy_partition_count +: 0\n/);
  });

  let droppedAppId = '';
  test('a table lifecycle read from stdin: create, envs, drop', async () => {
    const script = [
      '# comments and blank lines are skipped',
      '',
      'create shelltab -p 4 -r 3 -e default_ttl=100',
      'use shelltab',
      'set_app_envs manual_compact.disabled true rocksdb.usage_scenario prefer_write',
      'get_app_envs',
      'del_app_envs default_ttl',
      'clear_app_envs -p manual_compact',
      'get_app_envs -j',
      'drop shelltab',
      'ls -a -s dropped',
    ].join('\n');
    const run = await runShellProcess(shellMeta(), `${script}\n`);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^create app shelltab succeed, waiting for app ready\n(shelltab not ready yet.*\n)*shelltab is ready now: \(4\/4\)\nshelltab is ready now!\ncreate app "shelltab" succeed\n/);
    assert.match(run.stdout, /\nset app envs succeed\n\[app_envs\]\ndefault_ttl +: 100 +\nmanual_compact\.disabled +: true +\nrocksdb\.usage_scenario +: prefer_write\n/);
    assert.match(run.stdout, /\ndel app envs succeed\n/);
    assert.match(run.stdout, /\nclear app envs succeed\n/);
    assert.match(run.stdout, /\n\{\n {4}"app_envs": \{\n {8}"rocksdb\.usage_scenario": "prefer_write"\n {4}\}\n\}\n/);
    assert.match(run.stdout, /\nreserve_seconds = 0\ndrop app shelltab succeed\n/);
    const dropped = /\n(\d+) +DROPPED +shelltab +pegasus +4 +3 +true( +\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d){3} +1 +false +\n/.exec(run.stdout);
    assert.ok(dropped, run.stdout);
    assert.equal(run.stderr, 'OK\n');
    droppedAppId = dropped[1]!;
  });

  // Recovering a recalled table goes through the meta's DDD rule: the last drops report their
  // replicas (with the decrees replication kept in step) and the one with the newest data leads.
  test('a dropped table is recalled under a new name', async () => {
    const appId = droppedAppId;
    assert.ok(appId, 'the lifecycle test dropped a table');
    const recall = await runShellProcess([...shellMeta(), '-e', `recall ${appId} shelltab2`, '-e', 'ls', '-e', 'get_app_envs shelltab2']);
    assert.equal(recall.code, 0, recall.stdout + recall.stderr);
    assert.match(recall.stdout, new RegExp(`^recall app ok, id\\(${appId}\\), name\\(shelltab2\\), partition_count\\(4\\), wait it ready\\n`));
    assert.match(recall.stdout, new RegExp(`\\nshelltab2 is ready now: \\(4/4\\)\\nrecall app ${appId} succeed\\n`));
    assert.match(recall.stdout, new RegExp(`\\n${appId} +AVAILABLE +shelltab2 +pegasus +4 +3 +true `));
    assert.match(recall.stdout, /\ntotal_app_count +: 2\n/);
    assert.match(recall.stdout, /\n\[app_envs\]\nrocksdb\.usage_scenario +: prefer_write\n$/);
  });

  test('failures print the error name and make the run exit 1; --keep-going runs on after them', async () => {
    const run = await runShellProcess([...shellMeta(), '--keep-going', '-e', 'create temp -p 8 -f', '-e', 'app nosuch', '-e', 'create odd -p 3', '-e', 'ls']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^create app "temp" failed, error = ERR_APP_EXIST\nquery app nosuch failed, error=ERR_OBJECT_NOT_FOUND\ncreate app "odd" failed, error = ERR_INVALID_PARAMETERS\n\[general_info\]\n/);
    // Without --keep-going a script stops at its first failed command.
    const stopped = await runShellProcess([...shellMeta(), '-e', 'app nosuch', '-e', 'ls']);
    assert.equal(stopped.code, 1);
    assert.equal(stopped.stdout, 'query app nosuch failed, error=ERR_OBJECT_NOT_FOUND\n');
    const down = await runShellProcess(['--meta', `127.0.0.1:${await freePort()}`, '-e', 'cluster_info']);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^get cluster info failed, error=ERR_NETWORK_FAILURE: .*ECONNREFUSED/);
    const badArgs = await runShellProcess(['--meta', 'nonsense']);
    assert.equal(badArgs.code, 2);
    assert.match(badArgs.stderr, /^pteron shell: ERR_INVALID_PARAMETERS: "nonsense" is not a host:port address\n/);
  });

  test('the meta list may start with an unreachable meta and a backup that forwards to the leader', async () => {
    backup = createServer({ role: 'meta', port: 0 });
    const forward = { err: 'ERR_FORWARD_TO_OTHERS' };
    registerTypedRpc(backup.rpc, RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX, () => ({
      ...forward, appId: 0, partitionCount: 0, isStateful: true,
      partitions: [partitionConfigurationCodec.create({ primary: hostPort('127.0.0.1', metaPort), hpPrimary: hostPort('127.0.0.1', metaPort) })],
    }));
    registerTypedRpc(backup.rpc, RPCS.RPC_CM_LIST_NODES, () => ({ ...forward, infos: [] }));
    backupPort = await backup.start();
    const deadPort = await freePort();
    const run = await runShellProcess(['--meta', `127.0.0.1:${deadPort},127.0.0.1:${backupPort}`, '-e', 'app temp', '-e', 'nodes']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /\n\[general\]\napp_name +: temp\napp_id +: 1 *\npartition_count +: 8 *\nmax_replica_count +: 3 *\n/);
    assert.match(run.stdout, /\ntotal_node_count +: 3\n/);
  });
});
