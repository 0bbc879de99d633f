// The access check at the two entry points of a server (the admin HTTP server and the RPC
// dispatch), over real sockets: a caller bound to 127.0.0.2 is remote once
// `[security] trusted_addresses` is 127.0.0.1 only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findFlag, setFlagFromText } from '../../src/config/flags.ts';
import { RpcClient } from '../../src/net/rpc/client.ts';
import { createServer, type PteronServer } from '../../src/server/server.ts';
import { NegotiationStatus, RPCS } from '../../src/wire/structs/index.ts';
import { httpFrom } from '../helpers/http-from.ts';

const REMOTE = '127.0.0.2';
const LOCAL = '127.0.0.1';
const SECRET = 'open sesame';

const SETTINGS = ['admin_secret', 'trusted_addresses', 'allow_remote_admin_without_secret'] as const;

function setSettings(values: Partial<Record<(typeof SETTINGS)[number], string>>): void {
  for (const [name, value] of Object.entries(values)) setFlagFromText(name, value, true);
}

describe('access check at the HTTP server and the RPC dispatch', () => {
  let server: PteronServer;
  let port = 0;
  const calls = new Map<string, number>();
  const saved = new Map<string, string>();
  const count = (name: string): number => calls.get(name) ?? 0;
  const client = (localAddress: string, secret?: string): RpcClient => new RpcClient({ host: LOCAL, port }, { localAddress, secret, timeoutMs: 60_000 });

  before(async () => {
    for (const name of SETTINGS) saved.set(name, String(findFlag(name)!.value));
    setSettings({ admin_secret: SECRET, trusted_addresses: LOCAL, allow_remote_admin_without_secret: 'false' });
    server = createServer({ role: 'test', port: 0 });
    for (const name of ['RPC_CM_CREATE_APP', 'RPC_CM_LIST_APPS', 'RPC_RRDB_RRDB_PUT', 'RPC_FD_FAILURE_DETECTOR_PING']) {
      server.rpc.register(name, (request) => {
        calls.set(name, count(name) + 1);
        return { error: 'ERR_OK', result: request.frame.args };
      });
    }
    server.rpc.register('RPC_CONFIG_PROPOSAL', () => {
      calls.set('RPC_CONFIG_PROPOSAL', count('RPC_CONFIG_PROPOSAL') + 1);
      return undefined;
    });
    port = await server.start();
  });

  after(async () => {
    await server.close();
    for (const [name, value] of saved) setFlagFromText(name, value, true);
  });

  it('refuses an admin RPC from a remote caller without the secret, and does not run it', async () => {
    const remote = client(REMOTE, '');
    try {
      assert.deepEqual(await remote.call('RPC_CM_CREATE_APP', Buffer.from([1])), { error: 'ERR_ACL_DENY', result: Buffer.alloc(0) });
      assert.equal((await remote.call('RPC_FD_FAILURE_DETECTOR_PING', Buffer.from([1]))).error, 'ERR_ACL_DENY');
      // A refused one-way RPC is dropped; the call after it shows it never ran.
      await remote.send('RPC_CONFIG_PROPOSAL', Buffer.from([1]));
      assert.equal((await remote.call('RPC_CM_LIST_APPS', Buffer.from([1]))).error, 'ERR_OK');
      assert.equal((await remote.call('RPC_RRDB_RRDB_PUT', Buffer.from([1]))).error, 'ERR_OK');
      assert.equal(count('RPC_CM_CREATE_APP'), 0);
      assert.equal(count('RPC_FD_FAILURE_DETECTOR_PING'), 0);
      assert.equal(count('RPC_CONFIG_PROPOSAL'), 0);
    } finally {
      await remote.close();
    }
  });

  it('refuses a wrong secret and serves the right one', async () => {
    const wrong = client(REMOTE, 'open sesam');
    const right = client(REMOTE, SECRET);
    try {
      assert.equal((await wrong.call('RPC_CM_CREATE_APP', Buffer.from([1]))).error, 'ERR_ACL_DENY');
      assert.equal(count('RPC_CM_CREATE_APP'), 0);
      assert.equal((await right.call('RPC_CM_CREATE_APP', Buffer.from([2]))).error, 'ERR_OK');
      await right.send('RPC_CONFIG_PROPOSAL', Buffer.from([1]));
      assert.equal((await right.call('RPC_FD_FAILURE_DETECTOR_PING', Buffer.from([1]))).error, 'ERR_OK');
      assert.equal(count('RPC_CM_CREATE_APP'), 1);
      assert.equal(count('RPC_CONFIG_PROPOSAL'), 1);
    } finally {
      await Promise.all([wrong.close(), right.close()]);
    }
  });

  it('serves a trusted caller without a secret', async () => {
    const local = client(LOCAL, '');
    try {
      assert.equal((await local.call('RPC_CM_CREATE_APP', Buffer.from([3]))).error, 'ERR_OK');
    } finally {
      await local.close();
    }
  });

  it('speaks Pegasus\'s negotiation steps with PLAIN as the only mechanism', async () => {
    const remote = client(REMOTE, '');
    const step = async (status: NegotiationStatus, msg: string) =>
      (await remote.callRpc(RPCS.RPC_NEGOTIATION, { status, msg: Buffer.from(msg) })).result!;
    try {
      const listed = await step(NegotiationStatus.SASL_LIST_MECHANISMS, '');
      assert.equal(listed.status, NegotiationStatus.SASL_LIST_MECHANISMS_RESP);
      assert.equal(listed.msg.toString(), 'PLAIN');
      assert.equal((await step(NegotiationStatus.SASL_SELECT_MECHANISMS, 'GSSAPI')).status, NegotiationStatus.SASL_AUTH_FAIL);
      assert.equal((await step(NegotiationStatus.SASL_SELECT_MECHANISMS, 'PLAIN')).status, NegotiationStatus.SASL_SELECT_MECHANISMS_RESP);
      assert.equal((await step(NegotiationStatus.SASL_INITIATE, '\0admin\0nope')).status, NegotiationStatus.SASL_AUTH_FAIL);
      assert.equal((await remote.call('RPC_CM_CREATE_APP', Buffer.from([4]))).error, 'ERR_ACL_DENY');
      assert.equal((await step(NegotiationStatus.SASL_INITIATE, `\0admin\0${SECRET}`)).status, NegotiationStatus.SASL_SUCC);
      assert.equal((await remote.call('RPC_CM_CREATE_APP', Buffer.from([4]))).error, 'ERR_OK');
    } finally {
      await remote.close();
    }
  });

  it('refuses a state-changing HTTP call from a remote caller with 403 and a JSON error, and leaves the flag alone', async () => {
    const before = String(findFlag('max_request_body_bytes')!.value);
    const refused = await httpFrom(REMOTE, port, '/updateConfig?max_request_body_bytes=4096');
    assert.equal(refused.status, 403);
    assert.equal(refused.contentType, 'application/json');
    assert.deepEqual(JSON.parse(refused.body).error, 'ERR_ACL_DENY');
    assert.equal(JSON.parse(refused.body).reason, 'secret_missing');
    const wrong = await httpFrom(REMOTE, port, '/updateConfig?max_request_body_bytes=4096', { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 403);
    assert.equal(JSON.parse(wrong.body).reason, 'secret_wrong');
    assert.equal(String(findFlag('max_request_body_bytes')!.value), before);

    const accepted = await httpFrom(REMOTE, port, '/updateConfig?max_request_body_bytes=4096', { headers: { Authorization: `Bearer ${SECRET}` } });
    assert.equal(accepted.status, 200);
    assert.match(accepted.body, /ERR_OK/);
    assert.equal(findFlag('max_request_body_bytes')!.value, 4096);
    const restored = await httpFrom(LOCAL, port, `/updateConfig?max_request_body_bytes=${before}`);
    assert.equal(restored.status, 200);
    assert.equal(String(findFlag('max_request_body_bytes')!.value), before);
  });

  it('serves reads to a remote caller and shows the secret as hidden', async () => {
    assert.equal((await httpFrom(REMOTE, port, '/version')).status, 200);
    const config = await httpFrom(REMOTE, port, '/config?name=admin_secret');
    assert.equal(config.status, 200);
    assert.ok(!config.body.includes(SECRET), config.body);
    assert.match(config.body, /<hidden>/);
  });

  it('refuses the console websocket to a remote caller', async () => {
    const refused = await httpFrom(REMOTE, port, '/ui/ws', { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } }).catch((error: Error) => error);
    // node reports a refused upgrade as a plain response.
    assert.ok(!(refused instanceof Error), String(refused));
    assert.equal(refused.status, 403);
  });

  it('no secret configured: nothing remote gets in; the check turned off: everything does', async () => {
    setSettings({ admin_secret: '' });
    const remote = client(REMOTE, SECRET);
    try {
      const refused = await httpFrom(REMOTE, port, '/updateConfig?max_request_body_bytes=4096', { headers: { Authorization: `Bearer ${SECRET}` } });
      assert.equal(JSON.parse(refused.body).reason, 'no_secret_configured');
      assert.equal((await remote.call('RPC_CM_CREATE_APP', Buffer.from([5]))).error, 'ERR_ACL_DENY');
      setSettings({ allow_remote_admin_without_secret: 'true' });
      assert.equal((await remote.call('RPC_CM_CREATE_APP', Buffer.from([5]))).error, 'ERR_OK');
      assert.equal((await httpFrom(REMOTE, port, '/updateConfig?max_request_body_bytes=1048576')).status, 200);
    } finally {
      setSettings({ admin_secret: SECRET, allow_remote_admin_without_secret: 'false' });
      await remote.close();
    }
  });
});
