// The web console in a real browser: a replica's /ui terminal runs dashboard (which refreshes),
// Ctrl-C ends it, version prints the version; /ui/endpoints lists the admin calls. Needs the
// Debian chromium package at /usr/bin/chromium.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { PROJECT_ROOT, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

let replica: RunningProcess;
let guarded: RunningProcess;
let dataDirs: string[] = [];
let browserServer: BrowserServer | undefined;
let browser: Browser | undefined;

function replicaArgs(dataDir: string, extra: string[] = []): string[] {
  return ['--set', 'meta_server.server_list=127.0.0.1:1', '--set', `core.data_dir=${dataDir}`, ...extra];
}

before(async () => {
  dataDirs = await Promise.all([mkdtemp(path.join(os.tmpdir(), 'pteron-ui-')), mkdtemp(path.join(os.tmpdir(), 'pteron-ui-'))]);
  [replica, guarded] = await Promise.all([
    startPteron('replica', { args: replicaArgs(dataDirs[0]!) }),
    startPteron('replica', {
      args: replicaArgs(dataDirs[1]!, [
        '--set', 'diag.api_username=ops', '--set', 'diag.api_password=s3cret', '--set', 'diag.api_local_connection_non_auth=false',
      ]),
    }),
  ]);
});

after(async () => {
  await browser?.close().catch(() => {});
  const pid = browserServer?.process().pid;
  await browserServer?.close().catch(() => {});
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all([replica?.stop(), guarded?.stop()]);
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const term = (globalThis as unknown as { pteronTerminal?: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } } }).pteronTerminal;
    if (!term) return '';
    const lines: string[] = [];
    for (let index = 0; index < term.buffer.active.length; index++) lines.push(term.buffer.active.getLine(index)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

test('the console pages need the /api credentials when a password is set', async () => {
  const refused = await fetch(`${guarded.url}/ui`);
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get('www-authenticate') ?? '', /Basic/);
  const auth = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
  const served = await fetch(`${guarded.url}/ui`, { headers: auth });
  assert.equal(served.status, 200);
  assert.match(served.headers.get('content-type') ?? '', /^text\/html/);
});

test('assets are served from the installed xterm package with their content types', async () => {
  const script = await fetch(`${replica.url}/ui/xterm.mjs`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
  const css = await fetch(`${replica.url}/ui/xterm.css`);
  assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  assert.match(await css.text(), /\.xterm/);
});

test('a browser runs dashboard, interrupts it, runs version and lists the endpoints', { skip: !existsSync(CHROMIUM) && 'no chromium' }, async () => {
  browserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  browser = await chromium.connect(browserServer.wsEndpoint());
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  await page.goto(`${replica.url}/ui`);
  await waitFor('the prompt', async () => (await terminalText(page)).includes('pteron$'), 30_000, 100);
  assert.match(await terminalText(page), /Welcome to pteron!/);

  await page.locator('.xterm').click();
  await page.keyboard.type('dashboard');
  await page.keyboard.press('Enter');
  let first = '';
  await waitFor('a dashboard', async () => {
    first = await terminalText(page);
    return first.includes('dashboard 20') && first.includes('memoryInfo');
  }, 30_000, 100);
  await waitFor('the dashboard to refresh', async () => {
    const now = await terminalText(page);
    return now.includes('memoryInfo') && now !== first;
  }, 30_000, 200);

  await page.keyboard.press('Control+C');
  await waitFor('the prompt after Ctrl-C', async () => /\^C[\s\S]*pteron\$ *$/.test((await terminalText(page)).trimEnd()), 20_000, 100);

  await page.keyboard.type('version');
  await page.keyboard.press('Enter');
  const version = ((await (await fetch(`${replica.url}/version`)).json()) as { Version: string }).Version;
  await waitFor('the version', async () => {
    const lines = (await terminalText(page)).split('\n').map((line) => line.trimEnd());
    const typed = lines.lastIndexOf('pteron$ version');
    return typed >= 0 && lines[typed + 1] === version;
  }, 20_000, 100);

  // Up recalls the previous line.
  await page.keyboard.press('ArrowUp');
  await waitFor('history recall', async () => (await terminalText(page)).trimEnd().endsWith('pteron$ version'), 20_000, 100);

  await mkdir(path.join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-artifacts', 'ui.png') });

  await page.goto(`${replica.url}/ui/endpoints`);
  const listed = await page.locator('td a').allTextContents();
  assert.ok(listed.includes('/version'), listed.join(' '));
  assert.ok(listed.includes('/metrics'), listed.join(' '));
  assert.ok(listed.includes('/ui'), listed.join(' '));
  await context.close();
});

/** The HTTP status a websocket upgrade to `url` gets, or 101 when it opens. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
  });
}

test('the websocket follows the /api rules and refuses pages of other origins', async () => {
  const guardedWs = `ws://127.0.0.1:${guarded.port}/ui/ws`;
  assert.equal(await upgradeStatus(guardedWs), 401);
  assert.equal(await upgradeStatus(`${guardedWs}?username=ops&password=s3cret`), 101);
  assert.equal(await upgradeStatus(`${guardedWs}?username=ops&password=wrong`), 401);
  const ws = `ws://127.0.0.1:${replica.port}/ui/ws`;
  assert.equal(await upgradeStatus(ws, { origin: `http://127.0.0.1:${replica.port}` }), 101);
  assert.equal(await upgradeStatus(ws, { origin: 'http://evil.example' }), 403);
  assert.equal(await upgradeStatus(`ws://127.0.0.1:${replica.port}/no-such-path`), 404);
});
