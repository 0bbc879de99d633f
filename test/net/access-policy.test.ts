// The access policy's rules, without a network: which calls change state, who is trusted, how a
// secret is presented and judged, and the verdict over all of it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagFromText } from '../../src/config/flags.ts';
import {
  decideAccess, httpCallKind, httpSecretShown, isTrustedRequest, plainPassword, plainSecretShown, refusalBody, rpcKind,
  RPC_KINDS, TrustedAddresses, trustedAddresses,
} from '../../src/net/access-policy.ts';
import { RPCS } from '../../src/wire/structs/index.ts';

const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;

describe('access policy: call kinds', () => {
  it('classifies the state-changing HTTP calls and their sub-paths; every other path reads', () => {
    for (const path of [
      'updateConfig', 'api', 'ui/ws', 'meta/app/start_compaction', 'meta/app/usage_scenario',
      'repo/update', 'reload', 'service/restart', 'service/restart/replica', 'service/stop', 'service/stop/meta', 'shutdown',
    ]) {
      assert.equal(httpCallKind(path), 'admin', path);
    }
    for (const path of [
      '', 'version', 'config', 'configs', 'metrics', 'meta/app', 'meta/apps', 'meta/app/duplication', 'meta/backup_policy',
      'meta/app_envs', 'meta/cluster', 'meta/nodes', 'replica/duplication', 'repo', 'service', 'service/health/replica',
      'service/metrics', 'session', 'ping', 'ui', 'api/download/heap.hprof', 'pprof/heap', 'perfCounter', 'updateConfigs', 'no/such/path',
    ]) {
      assert.equal(httpCallKind(path), 'read', path);
    }
  });

  it('classifies every RPC of the table, and counts an unknown one as admin', () => {
    for (const name of Object.keys(RPCS)) assert.ok(RPC_KINDS[name] !== undefined, `${name} has no kind`);
    assert.equal(rpcKind('RPC_SOMETHING_NEW'), 'admin');
    assert.equal(rpcKind('RPC_RRDB_RRDB_PUT'), 'data');
    assert.equal(rpcKind('RPC_RRDB_RRDB_DUPLICATE'), 'data');
    assert.equal(rpcKind('RPC_CM_LIST_APPS'), 'read');
    assert.equal(rpcKind('RPC_FD_FAILURE_DETECTOR_PING'), 'peer');
    assert.equal(rpcKind('RPC_CONFIG_PROPOSAL'), 'peer');
    for (const name of ['RPC_CM_CREATE_APP', 'RPC_CM_DROP_APP', 'RPC_CM_CONTROL_META', 'RPC_CM_PROPOSE_BALANCER', 'RPC_CLI_CLI_CALL']) {
      assert.equal(rpcKind(name), 'admin', name);
    }
  });
});

describe('access policy: trusted addresses', () => {
  it('trusts the whole loopback range by default, IPv4-mapped too, and nothing else', () => {
    const trusted = new TrustedAddresses(trustedAddresses.defaultValue);
    for (const address of ['127.0.0.1', '127.0.0.2', '127.255.0.9', '::1', '::ffff:127.0.0.1']) assert.ok(trusted.has(address), address);
    for (const address of ['10.0.0.1', '192.168.1.2', '203.0.113.7', '::ffff:10.0.0.1', 'fe80::1', '', 'localhost']) {
      assert.ok(!trusted.has(address), address);
    }
  });

  it('takes single addresses and subnets of both families', () => {
    const trusted = new TrustedAddresses(' 127.0.0.1 , 10.1.0.0/16,fd00::/8 ');
    assert.ok(trusted.has('127.0.0.1'));
    assert.ok(!trusted.has('127.0.0.2'));
    assert.ok(trusted.has('10.1.200.3'));
    assert.ok(!trusted.has('10.2.0.1'));
    assert.ok(trusted.has('fd12::5'));
    assert.ok(!new TrustedAddresses('').has('127.0.0.1'));
  });

  it('refuses entries that are not addresses or subnets, and so does the flag', () => {
    for (const text of ['localhost', '10.0.0.0/33', '::1/129', '10.0.0.0/x', '1.2.3']) {
      assert.throws(() => new TrustedAddresses(text), RangeError, text);
      assert.throws(() => setFlagFromText('trusted_addresses', text, true), /trusted_addresses|invalid|validat/i, text);
    }
    assert.equal(trustedAddresses.value, trustedAddresses.defaultValue);
  });

  it('counts a forwarded request as trusted only when every address it was forwarded for is', () => {
    const trusted = new TrustedAddresses('127.0.0.1,10.0.0.0/8');
    assert.ok(isTrustedRequest('127.0.0.1', {}, trusted));
    assert.ok(isTrustedRequest('127.0.0.1', { 'x-forwarded-for': '10.1.1.1, 127.0.0.1' }, trusted));
    assert.ok(!isTrustedRequest('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }, trusted));
    assert.ok(!isTrustedRequest('203.0.113.7', {}, trusted));
    assert.ok(!isTrustedRequest('203.0.113.7', { 'x-forwarded-for': '127.0.0.1' }, trusted));
  });
});

describe('access policy: presenting the secret', () => {
  it('reads it from a bearer token, X-Pteron-Secret or either half of Basic credentials', () => {
    assert.equal(httpSecretShown({}, 'sesame'), 'none');
    assert.equal(httpSecretShown({ authorization: 'Bearer sesame' }, 'sesame'), 'valid');
    assert.equal(httpSecretShown({ 'x-pteron-secret': 'sesame' }, 'sesame'), 'valid');
    assert.equal(httpSecretShown({ authorization: basic(':sesame') }, 'sesame'), 'valid');
    assert.equal(httpSecretShown({ authorization: basic('sesame:') }, 'sesame'), 'valid');
    assert.equal(httpSecretShown({ authorization: basic('sesame') }, 'sesame'), 'valid');
    // /api's own credentials in Authorization, the secret beside them.
    assert.equal(httpSecretShown({ authorization: basic('pteron:apipass'), 'x-pteron-secret': 'sesame' }, 'sesame'), 'valid');
    assert.equal(httpSecretShown({ authorization: 'Bearer sesam' }, 'sesame'), 'wrong');
    assert.equal(httpSecretShown({ 'x-pteron-secret': 'sesame!' }, 'sesame'), 'wrong');
    assert.equal(httpSecretShown({ authorization: 'Bearer ' }, 'sesame'), 'none');
  });

  it('never takes anything for an empty secret', () => {
    assert.equal(httpSecretShown({ authorization: 'Bearer x' }, ''), 'wrong');
    assert.equal(httpSecretShown({ authorization: basic(':') }, ''), 'wrong');
    assert.equal(plainSecretShown(Buffer.from('\0u\0'), ''), 'wrong');
  });

  it('reads the password of a SASL PLAIN message', () => {
    assert.equal(plainPassword(Buffer.from('\0pteron\0sesame')), 'sesame');
    assert.equal(plainPassword(Buffer.from('admin\0admin\0a:b')), 'a:b');
    assert.equal(plainPassword(Buffer.from('sesame')), undefined);
    assert.equal(plainSecretShown(Buffer.from('\0pteron\0sesame'), 'sesame'), 'valid');
    assert.equal(plainSecretShown(Buffer.from('\0pteron\0other'), 'sesame'), 'wrong');
    assert.equal(plainSecretShown(Buffer.from('garbage'), 'sesame'), 'wrong');
  });
});

describe('access policy: the verdict', () => {
  const on = { secret: 'sesame', checkOff: false };
  const stranger = { trusted: false, secret: 'none' as const };

  it('always serves reads and the data plane', () => {
    for (const kind of ['read', 'data'] as const) assert.deepEqual(decideAccess(kind, stranger, on), { allowed: true });
  });

  it('serves peer and admin calls to trusted callers and to callers with the secret', () => {
    for (const kind of ['peer', 'admin'] as const) {
      assert.deepEqual(decideAccess(kind, { trusted: true, secret: 'none' }, on), { allowed: true });
      assert.deepEqual(decideAccess(kind, { trusted: true, secret: 'wrong' }, on), { allowed: true });
      assert.deepEqual(decideAccess(kind, { trusted: false, secret: 'valid' }, on), { allowed: true });
    }
  });

  it('refuses the others with a stable reason', () => {
    assert.deepEqual(decideAccess('admin', stranger, on), { allowed: false, reason: 'secret_missing' });
    assert.deepEqual(decideAccess('peer', { trusted: false, secret: 'wrong' }, on), { allowed: false, reason: 'secret_wrong' });
    assert.deepEqual(decideAccess('admin', { trusted: false, secret: 'wrong' }, { secret: '', checkOff: false }), {
      allowed: false, reason: 'no_secret_configured',
    });
  });

  it('serves everyone when the check is off', () => {
    assert.deepEqual(decideAccess('admin', stranger, { secret: '', checkOff: true }), { allowed: true });
  });

  it('answers a refusal as JSON with the error code and the reason', () => {
    const body = JSON.parse(refusalBody('secret_wrong')) as Record<string, string>;
    assert.equal(body.error, 'ERR_ACL_DENY');
    assert.equal(body.reason, 'secret_wrong');
    assert.match(body.message!, /admin_secret/);
  });
});
