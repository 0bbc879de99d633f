// The shell's function-level and balancing commands against an in-memory meta: the requests
// they send (the steps Pegasus's shell builds), their checks, and what they print.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigType, MetaFunctionLevel } from '../../src/wire/index.ts';
import { shellWith, type Answer } from '../helpers/fake-meta-shell.ts';

const A = { host: '127.0.0.1', port: 34801 };
const B = { host: '127.0.0.1', port: 34802 };
const NONE = { host: '', port: 0 };
const act = (target: typeof A, node: typeof A, type: ConfigType) => ({ target, node, type, hpTarget: target, hpNode: node });

describe('set_meta_level and get_meta_level', () => {
  test('send RPC_CM_CONTROL_META and print the level before the call', async () => {
    let level = MetaFunctionLevel.fl_steady;
    const shell = shellWith({
      RPC_CM_CONTROL_META: (args) => {
        const old = level;
        if (args.level !== MetaFunctionLevel.fl_invalid) level = args.level;
        return { err: 'ERR_OK', response: { err: 'ERR_OK', oldLevel: old } };
      },
    });
    assert.deepEqual(await shell.run('get_meta_level'), { result: 'ok', out: 'current meta level is fl_steady\n', err: '' });
    assert.deepEqual(await shell.run('set_meta_level LIVELY'), { result: 'ok', out: 'control meta level ok, the old level is fl_steady\n', err: '' });
    assert.deepEqual(await shell.run('get_meta_level'), { result: 'ok', out: 'current meta level is fl_lively\n', err: '' });
    assert.deepEqual(shell.calls.map((call) => call.args.level), [MetaFunctionLevel.fl_invalid, MetaFunctionLevel.fl_lively, MetaFunctionLevel.fl_invalid]);
  });

  test('refuse an unknown level before asking, and print the meta\'s error', async () => {
    const shell = shellWith({ RPC_CM_CONTROL_META: () => ({ err: 'ERR_NETWORK_FAILURE', response: undefined }) });
    for (const word of ['fast', 'invalid', 'fl_steady']) {
      const bad = await shell.run(`set_meta_level ${word}`);
      assert.equal(bad.result, 'usage');
      assert.equal(bad.err, `parse ${word} as meta function level failed\n`);
      assert.match(bad.out, /USAGE: \tset_meta_level +<stopped\|blind\|freezed\|steady\|lively>/);
    }
    assert.equal((await shell.run('set_meta_level')).result, 'usage');
    assert.equal(shell.calls.length, 0);
    assert.deepEqual(await shell.run('set_meta_level steady'), { result: 'failed', out: '', err: 'control meta level got error ERR_NETWORK_FAILURE\n' });
    assert.deepEqual(await shell.run('get_meta_level'), { result: 'failed', out: '', err: 'get meta level got error ERR_NETWORK_FAILURE\n' });
  });
});

describe('balance', () => {
  const accepted: Answer = () => ({ err: 'ERR_OK', response: { err: 'ERR_OK' } });

  test('builds the steps of move_pri, copy_pri and copy_sec as Pegasus\'s shell does', async () => {
    const shell = shellWith({ RPC_CM_PROPOSE_BALANCER: accepted });
    for (const type of ['move_pri', 'copy_pri', 'copy_sec']) {
      assert.deepEqual(await shell.run(`balance -g 2.5 -p ${type} -f 127.0.0.1:34801 -t 127.0.0.1:34802`), {
        result: 'ok', out: 'send balance proposal result: ERR_OK\n', err: '',
      });
    }
    const gpid = { appId: 2, partitionIndex: 5 };
    assert.deepEqual(shell.calls.map((call) => call.args), [
      { gpid, force: false, actionList: [act(A, A, ConfigType.CT_DOWNGRADE_TO_SECONDARY), act(B, B, ConfigType.CT_UPGRADE_TO_PRIMARY)] },
      {
        gpid, force: false, actionList: [
          act(A, B, ConfigType.CT_ADD_SECONDARY_FOR_LB), act(A, A, ConfigType.CT_DOWNGRADE_TO_SECONDARY), act(B, B, ConfigType.CT_UPGRADE_TO_PRIMARY),
        ],
      },
      { gpid, force: false, actionList: [act(NONE, B, ConfigType.CT_ADD_SECONDARY_FOR_LB), act(NONE, A, ConfigType.CT_DOWNGRADE_TO_INACTIVE)] },
    ]);
  });

  test('checks its options with Pegasus\'s messages and prints a refusal on stderr', async () => {
    const shell = shellWith({ RPC_CM_PROPOSE_BALANCER: () => ({ err: 'ERR_INVALID_PARAMETERS', response: { err: 'ERR_INVALID_PARAMETERS' } }) });
    const cases: Array<[string, string]> = [
      ['balance -g 1.0 -p swap -f 127.0.0.1:1 -t 127.0.0.1:2', 'parse swap as a balance type failed\n'],
      ['balance -g x -p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2', 'parse x as gpid failed\n'],
      ['balance -g 1.0 -p move_pri -f nowhere -t 127.0.0.1:2', 'parse nowhere as from_host_port failed\n'],
      ['balance -g 1.0 -p move_pri -t 127.0.0.1:2 -t 127.0.0.1:3', 'need set from address by -f\n'],
      ['balance -g 1.0 -p move_pri -f 127.0.0.1:2 -f 127.0.0.1:3', 'need set target address by -t\n'],
    ];
    for (const [line, message] of cases) {
      const answer = await shell.run(line);
      assert.equal(answer.result, 'usage', line);
      assert.equal(answer.err, message, line);
    }
    assert.equal((await shell.run('balance -g 1.0 -p move_pri')).result, 'usage');
    assert.equal(shell.calls.length, 0);
    assert.deepEqual(await shell.run('balance -g 1.0 -p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2'), {
      result: 'failed', out: '', err: 'send balance proposal result: ERR_INVALID_PARAMETERS\n',
    });
  });
});

describe('propose', () => {
  test('sends one action, with force when asked; the type is CT_ plus -p in any case', async () => {
    const shell = shellWith({ RPC_CM_PROPOSE_BALANCER: () => ({ err: 'ERR_OK', response: { err: 'ERR_OK' } }) });
    assert.deepEqual(await shell.run('propose -g 1.3 -p remove -t 127.0.0.1:34801 -n 127.0.0.1:34802'), {
      result: 'ok', out: 'send proposal response: ERR_OK\n', err: '',
    });
    assert.equal((await shell.run('propose -f -g 1.3 -p ADD_SECONDARY -t 127.0.0.1:34801 -n 127.0.0.1:34802')).result, 'ok');
    assert.deepEqual(shell.calls.map((call) => call.args), [
      { gpid: { appId: 1, partitionIndex: 3 }, force: false, actionList: [act(A, B, ConfigType.CT_REMOVE)] },
      { gpid: { appId: 1, partitionIndex: 3 }, force: true, actionList: [act(A, B, ConfigType.CT_ADD_SECONDARY)] },
    ]);
    // A host name travels in the host_port fields only.
    await shell.run('propose -g 1.3 -p remove -t localhost:34801 -n 127.0.0.1:34802');
    assert.deepEqual(shell.calls[2]!.args.actionList[0].target, NONE);
    assert.deepEqual(shell.calls[2]!.args.actionList[0].hpTarget, { host: 'localhost', port: 34801 });
  });

  test('checks its options with Pegasus\'s messages', async () => {
    const shell = shellWith({});
    const cases: Array<[string, string]> = [
      ['propose -g 1.0 -p JUMP -t 127.0.0.1:1 -n 127.0.0.1:2', 'parse CT_JUMP as config_type failed.\n'],
      ['propose -g 1.0 -p INVALID -t 127.0.0.1:1 -n 127.0.0.1:2', 'parse CT_INVALID as config_type failed.\n'],
      ['propose -g 1.0 -p REMOVE -n 127.0.0.1:1 -n 127.0.0.1:2', 'need set target by -t\n'],
      ['propose -g 1.0 -p REMOVE -t 127.0.0.1:1 -t 127.0.0.1:2', 'need set node by -n\n'],
      ['propose -p REMOVE -t 127.0.0.1:1 -n 127.0.0.1:2 -p REMOVE', 'need set gpid by -g\n'],
    ];
    for (const [line, message] of cases) {
      const answer = await shell.run(line);
      assert.equal(answer.result, 'usage', line);
      assert.equal(answer.err, message, line);
    }
    assert.equal(shell.calls.length, 0);
    assert.deepEqual(await shell.run('propose -g 1.0 -p REMOVE -t 127.0.0.1:1 -n 127.0.0.1:2'), {
      result: 'failed', out: '', err: 'send proposal response: ERR_HANDLER_NOT_FOUND\n',
    });
  });
});
