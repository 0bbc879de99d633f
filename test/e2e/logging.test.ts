// Server logs as an operator meets them: every line names the role, the server and its address;
// the level comes from config.ini and changes at run time through /updateConfig and the
// `logger` command of /api; `--pretty` prints lines for people.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';

describe('server logs', () => {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'pteron-logging-'));
  let json: RunningProcess;
  let quiet: RunningProcess;
  let pretty: RunningProcess;

  before(async () => {
    // A meta list nobody answers on: the replica servers stay out of any cluster.
    const nowhere = `127.0.0.1:${await freePort()}`;
    const settings = (name: string): string[] => ['--set', `core.data_dir=${path.join(dataRoot, name)}`, '--set', `meta_server.server_list=${nowhere}`];
    [json, quiet, pretty] = await Promise.all([
      startPteron('replica', { args: settings('json'), env: { PTERON_LOG_LEVEL: 'info', PTERON_INSTANCE: 'replica9' } }),
      startPteron('replica', {
        args: [...settings('quiet'), '--set', 'core.logging_start_level=LOG_LEVEL_WARNING'],
        env: { PTERON_LOG_LEVEL: 'info' },
      }),
      startPteron('replica', { args: [...settings('pretty'), '--pretty'], env: { PTERON_LOG_LEVEL: 'info', PTERON_INSTANCE: 'replica8' } }),
    ]);
  });

  after(async () => {
    await Promise.all([json?.stop(), quiet?.stop(), pretty?.stop()]);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  const jsonLines = (server: RunningProcess): Array<Record<string, unknown>> =>
    server.output().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);

  async function apiExec(server: RunningProcess, command: string): Promise<Array<Record<string, unknown>>> {
    const response = await fetch(`${server.url}/api`, { method: 'POST', body: JSON.stringify({ action: 'exec', command }) });
    const answer = (await response.json()) as { state: string; body: { results: Array<Record<string, unknown>> } };
    assert.equal(answer.state, 'SUCCEEDED', JSON.stringify(answer));
    return answer.body.results;
  }

  async function configValue(server: RunningProcess): Promise<string> {
    return ((await (await fetch(`${server.url}/config?name=logging_start_level`)).json()) as { value: string }).value;
  }

  it('names the role, the server and its address on every line', async () => {
    const lines = jsonLines(json);
    assert.ok(lines.some((line) => line.msg === 'pteron server started'), json.output());
    for (const line of lines) {
      assert.deepEqual([line.role, line.name, line.address], ['replica', 'replica9', `127.0.0.1:${json.port}`], JSON.stringify(line));
    }
  });

  it('takes the level from config.ini: a warning level leaves the start-up lines out', async () => {
    assert.equal(await configValue(quiet), 'LOG_LEVEL_WARNING');
    assert.ok(!quiet.output().includes('pteron server started'), quiet.output());
  });

  it('changes the level through /updateConfig and the logger command; refuses an unknown level', async () => {
    const update = async (value: string): Promise<string> => (await (await fetch(`${json.url}/updateConfig?logging_start_level=${value}`)).text()).trim();
    assert.equal(await update('LOG_LEVEL_ERROR'), '{"update_status":"ERR_OK"}');
    assert.equal(await update('LOUD'), '{"update_status":"ERR_INVALID_PARAMETERS: value validation failed"}');
    const shown = await apiExec(json, 'logger');
    const root = (shown[0]!.loggerInfoMap as Record<string, { level: string; appenders: Array<{ format: string }> }>).ROOT!;
    assert.equal(root.level, 'ERROR');
    assert.equal(root.appenders[0]!.format, 'json');

    const changed = await apiExec(json, 'logger --name ROOT --level WARN');
    assert.deepEqual(changed.map((result) => result.type), ['message', 'logger', 'status']);
    assert.equal(await configValue(json), 'warn');
    const refused = await apiExec(json, 'logger -l loud');
    assert.deepEqual(refused.at(-1), { type: 'status', jobId: refused.at(-1)!.jobId, statusCode: 1, message: 'unknown level "loud"' });
    assert.equal(await configValue(json), 'warn');

    // Back at info, the stop is logged.
    assert.equal(await update('info'), '{"update_status":"ERR_OK"}');
    await json.stop();
    await waitFor('the stop logged', () => jsonLines(json).some((line) => line.msg === 'stopping'), 60_000);
  });

  it('prints lines for people with --pretty', async () => {
    const lines = pretty.output().split('\n').filter((line) => line !== '');
    assert.ok(lines.length > 0);
    for (const line of lines) assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} [A-Z]+ +replica8 127\\.0\\.0\\.1:${pretty.port} `), line);
    assert.ok(lines.some((line) => line.includes(' pteron server started')));
  });
});
