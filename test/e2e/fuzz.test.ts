// Robustness: one real server process takes bounded, seeded random input on its one port
// (random bytes, THFT frames, HTTP requests, slow and abandoned sends) and must come through
// with the same PID, answering /version, without logging an error and without leaking
// connections. A failing run prints its seed; PTERON_FUZZ_SEED=<seed> replays the same input.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeRequestFrameV0, parseResponseFrame, RPCS, THFT_MAGIC } from '../../src/wire/index.ts';
import { freePort, sleep, startPteron, waitFor, type RunningProcess } from '../helpers/process.ts';
import { parseResponse, rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { caseRng, type FuzzRng } from '../fuzz/random.ts';
import { fuzzSeed } from '../fuzz/seed.ts';

const SEED = fuzzSeed();
/** The role of the process under test: replica by default, PTERON_FUZZ_ROLE=meta for a meta server. */
const ROLE = process.env.PTERON_FUZZ_ROLE ?? 'replica';
/** Connections open at once, per phase. */
const PARALLEL = 24;
/** How long a client waits for the server to answer or close before it hangs up itself. */
const LINGER_MS = 60;

/** A case's own generator: one case's randomness never shifts another's. */
const rngOf = (phase: number, index: number): FuzzRng => caseRng(SEED, `port phase ${phase}`, index);

interface Exchange {
  received: Buffer;
  /** The server closed (or reset) the connection before the client hung up. */
  closedByServer: boolean;
}

interface SendPlan {
  /** Chunks written in order, with a pause (ms) before each. */
  chunks: Array<{ data: Buffer; delayMs: number }>;
  /** Half-close after the last chunk instead of just waiting. */
  end: boolean;
  /** Hang up this long after the last chunk unless the server closed first. */
  lingerMs: number;
  /** Reset instead of a clean close when hanging up. */
  reset: boolean;
  /** Stop waiting as soon as this says the reply is complete. */
  done?: (received: Buffer) => boolean;
}

function exchange(port: number, plan: SendPlan): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const chunks: Buffer[] = [];
    let finished = false;
    let lingerTimer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(lingerTimer);
      if (plan.reset) socket.resetAndDestroy();
      else socket.destroy();
      resolve({ received: Buffer.concat(chunks), closedByServer });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (plan.done?.(Buffer.concat(chunks))) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', async () => {
      for (const chunk of plan.chunks) {
        if (chunk.delayMs > 0) await sleep(chunk.delayMs);
        if (finished || socket.destroyed) return;
        socket.write(chunk.data);
      }
      if (plan.end && !socket.destroyed) socket.end();
      lingerTimer = setTimeout(() => finish(false), plan.lingerMs);
    });
  });
}

/** Runs `count` cases, `PARALLEL` at a time. */
async function runCases(count: number, runCase: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await runCase(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

/** Splits `data` into a few pieces, as a slow or fragmenting client sends it. */
function fragments(rng: FuzzRng, data: Buffer, slow: boolean): Array<{ data: Buffer; delayMs: number }> {
  if (!slow || data.length < 2) return [{ data, delayMs: 0 }];
  const pieces = 2 + rng.below(Math.min(38, data.length - 1));
  const cuts = new Set<number>();
  while (cuts.size < pieces - 1) cuts.add(1 + rng.below(data.length - 1));
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), data.length];
  return bounds.slice(1).map((end, index) => ({ data: data.subarray(bounds[index], end), delayMs: rng.below(4) }));
}

// ---- THFT frames -------------------------------------------------------------------------

const RPC_NAMES = Object.keys(RPCS);

function thriftString(text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function randomRpcName(rng: FuzzRng): string {
  if (rng.chance(0.4)) return rng.pick(RPC_NAMES);
  return rng.text('ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789', rng.length(48)) + (rng.chance(0.1) ? 'é\u0000' : '');
}

/** A thrift value of a random type: sometimes well-formed, sometimes not. */
function randomThriftStruct(rng: FuzzRng, depth = 0): Buffer {
  const parts: Buffer[] = [];
  const fields = rng.below(5);
  for (let field = 0; field < fields; field++) {
    const type = rng.pick([2, 3, 6, 8, 10, 11, 12, 13, 14, 15, rng.below(256)]);
    const header = Buffer.from([type, 0, rng.below(8)]);
    parts.push(header);
    switch (type) {
      case 2:
      case 3:
        parts.push(rng.bytes(1));
        break;
      case 6:
        parts.push(rng.bytes(2));
        break;
      case 8:
        parts.push(rng.bytes(4));
        break;
      case 10:
        parts.push(rng.bytes(8));
        break;
      case 11:
        parts.push(rng.chance(0.8) ? thriftString(rng.bytes(rng.length(40))) : rng.bytes(4));
        break;
      case 12:
        parts.push(depth < 4 ? randomThriftStruct(rng, depth + 1) : Buffer.from([0]));
        break;
      default: {
        // list/set/map with a random count, sometimes far more than the bytes that follow
        const count = rng.chance(0.7) ? rng.below(4) : rng.pick([0x7fffffff, -1, 100000]);
        const head = Buffer.alloc(type === 13 ? 6 : 5);
        head[0] = rng.pick([8, 11, 12, 2]);
        if (type === 13) head[1] = rng.pick([8, 11]);
        head.writeInt32BE(count | 0, head.length - 4);
        parts.push(head, rng.bytes(rng.length(32)));
      }
    }
  }
  if (rng.chance(0.9)) parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function randomThriftBody(rng: FuzzRng): Buffer {
  const name = randomRpcName(rng);
  const seqid = rng.below(2 ** 32) | 0;
  const args = rng.chance(0.5) ? randomThriftStruct(rng) : rng.chance(0.5) ? Buffer.from([0]) : rng.bytes(rng.length(200));
  switch (rng.below(6)) {
    case 0: {
      // strict header, random message type
      const head = Buffer.alloc(4);
      head.writeUInt32BE((0x80010000 | rng.pick([1, 4, 2, 3, rng.below(256)])) >>> 0);
      const seq = Buffer.alloc(4);
      seq.writeInt32BE(seqid);
      return Buffer.concat([head, thriftString(name), seq, args]);
    }
    case 1: {
      // old non-strict header: name, type byte, seqid
      const seq = Buffer.alloc(5);
      seq[0] = rng.pick([1, 4, rng.below(256)]);
      seq.writeInt32BE(seqid, 1);
      return Buffer.concat([thriftString(name), seq, args]);
    }
    case 2: {
      // a valid call, cut short
      const frame = encodeRequestFrameV0(name, seqid, args);
      const body = frame.subarray(48);
      return body.subarray(0, rng.below(body.length + 1));
    }
    case 3: {
      // a huge or negative name length
      const head = Buffer.alloc(8);
      head.writeUInt32BE(0x80010001);
      head.writeInt32BE(rng.pick([0x7fffffff, -2, 1 << 24]), 4);
      return Buffer.concat([head, rng.bytes(rng.length(64))]);
    }
    case 4:
      return rng.bytes(rng.length(300));
    default:
      return encodeRequestFrameV0(name, seqid, args, { oneway: rng.chance(0.2) }).subarray(48);
  }
}

function randomThftFrame(rng: FuzzRng): Buffer {
  const body = randomThriftBody(rng);
  const bodyLength = rng.pick([
    body.length, body.length, body.length, body.length, 0, Math.max(0, body.length - 1 - rng.below(8)), body.length + 1 + rng.below(8),
    0xffffffff, 16 * 1024 * 1024 + 1, rng.below(2 ** 32),
  ]);
  if (rng.chance(0.75)) {
    const header = Buffer.alloc(48);
    header.writeUInt32BE(THFT_MAGIC, 0);
    header.writeUInt32BE(rng.chance(0.9) ? 0 : rng.pick([2, 0xffffffff, rng.below(2 ** 32)]), 4);
    header.writeUInt32BE(rng.chance(0.85) ? 48 : rng.pick([0, 16, 47, 49, 0xffffffff, rng.below(2 ** 32)]), 8);
    header.writeUInt32BE(rng.below(2 ** 32), 12);
    header.writeUInt32BE(bodyLength >>> 0, 16);
    rng.bytes(28).copy(header, 20);
    return Buffer.concat([header, body]);
  }
  // v1: 16 fixed bytes, then a thrift meta struct of metaLength bytes
  const meta = rng.chance(0.6) ? randomThriftStruct(rng) : rng.bytes(rng.length(40));
  const header = Buffer.alloc(16);
  header.writeUInt32BE(THFT_MAGIC, 0);
  header.writeUInt32BE(1, 4);
  header.writeUInt32BE(rng.chance(0.8) ? meta.length : rng.pick([0, 1025, 0xffffffff, rng.below(2 ** 32)]) >>> 0, 8);
  header.writeUInt32BE(bodyLength >>> 0, 12);
  return Buffer.concat([header, meta, body]);
}

// ---- HTTP requests -----------------------------------------------------------------------

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'GET\t', 'get', 'POST ', 'PRI', 'CONNECT'];
const QUERY_KEYS = [
  'name', 'detail', 'types', 'ids', 'attributes', 'metrics', 'with_metric_fields', 'format', 'app_id', 'appid', 'seconds', 'x', '',
];
const QUERY_CHARS = 'abcAZ09_,.-=&+%/?#;: \t"\'<>\\é中\u0001';

function randomEscape(rng: FuzzRng): string {
  switch (rng.below(6)) {
    case 0:
      return `%${rng.below(256).toString(16).padStart(2, '0').toUpperCase()}`;
    case 1:
      return '%';
    case 2:
      return `%${rng.text('0123456789abcdefgGzZ%', 1)}`;
    case 3:
      return `%${rng.text('0123456789abcdefgGzZ%&=', 2)}`;
    case 4:
      return rng.pick(['%26', '%3D', '%3d', '%25', '%00', '%0A', '%0D%0A', '%20', '%2F', '%80', '%FF', '%E4%B8%AD']);
    default:
      return '%%';
  }
}

function randomQueryText(rng: FuzzRng, length: number): string {
  let out = '';
  while (out.length < length) out += rng.chance(0.2) ? randomEscape(rng) : rng.text(QUERY_CHARS, 1);
  return out;
}

/** Values a handler might accept, so that requests get past the parsing into the handlers. */
const PLAUSIBLE_VALUES = [
  'true', 'false', 'TRUE', 'server', 'http_call', 'server,http_call', 'path,/version', 'path,/version,path', 'name,value', 'name,p99',
  'http_requests', 'cluster_name', 'max_request_body_bytes', 'entity_retirement_delay_ms', 'prometheus', '1', '0', '-1', '0x10', '010',
  '1.0', 'temp', '', '%20', '%E4%B8%AD', 'a,b,c,d',
];

function plausibleQuery(rng: FuzzRng): string {
  const pieces: string[] = [];
  const count = rng.below(4);
  for (let index = 0; index < count; index++) {
    const key = rng.pick(QUERY_KEYS.filter((name) => name !== ''));
    pieces.push(rng.chance(0.15) ? key : `${key}=${rng.chance(0.8) ? rng.pick(PLAUSIBLE_VALUES) : rng.text('abcz09_,.-/:', rng.length(20))}`);
  }
  return pieces.length === 0 ? '' : `?${pieces.join('&')}`;
}

/** A request any HTTP client could send: valid framing, a known path, plausible parameters. */
function plausibleHttpRequest(rng: FuzzRng, paths: readonly string[]): Buffer {
  const method = rng.chance(0.7) ? 'GET' : 'POST';
  const body = method === 'POST' && rng.chance(0.5) ? rng.pick([Buffer.from('{"app_name":"temp"}'), Buffer.from('x'), rng.bytes(rng.length(2000))]) : undefined;
  const head =
    `${method} /${rng.pick(paths)}${plausibleQuery(rng)} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
    (body ? `Content-Length: ${body.length}\r\n` : '') +
    (rng.chance(0.1) ? 'Accept: text/plain;version=0.0.4\r\n' : '') +
    '\r\n';
  return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
}

function randomTarget(rng: FuzzRng, paths: readonly string[]): string {
  let pathText: string;
  switch (rng.below(5)) {
    case 0:
      pathText = `/${rng.text('abc/%._-~ ', rng.length(30))}`;
      break;
    case 1:
      pathText = `${rng.pick(['', '/', '//', ' /'])}${rng.pick(paths)}${rng.pick(['', '/', '//', '%2F', randomEscape(rng)])}`;
      break;
    case 2:
      pathText = rng.pick(['*', 'http://127.0.0.1/version', 'http://x:1/metrics', '/../version', '/./version', 'version', '']);
      break;
    default:
      pathText = `/${rng.pick(paths)}`;
  }
  if (rng.chance(0.25)) return pathText;
  const pieces: string[] = [];
  const count = rng.below(6);
  for (let index = 0; index < count; index++) {
    const key = rng.chance(0.7) ? rng.pick(QUERY_KEYS) : randomQueryText(rng, rng.length(12));
    if (rng.chance(0.2)) pieces.push(key);
    else pieces.push(`${key}=${randomQueryText(rng, rng.length(24))}`);
  }
  return `${pathText}?${pieces.join(rng.pick(['&', '&', '&&', ';']))}${rng.chance(0.1) ? '#frag' : ''}`;
}

/** `pipelined`: no HEAD, whose bodiless answer would make the responses after it unparsable here. */
function randomHttpRequest(rng: FuzzRng, paths: readonly string[], pipelined: boolean): Buffer {
  if (rng.chance(0.5)) return plausibleHttpRequest(rng, paths);
  let method = rng.pick(METHODS);
  if (pipelined && method === 'HEAD') method = 'GET';
  const target = randomTarget(rng, paths);
  const version = rng.chance(0.9) ? 'HTTP/1.1' : rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'HTTP/9', '']);
  const body = rng.chance(0.4) ? rng.bytes(rng.length(3000)) : rng.chance(0.2) ? Buffer.from('{"app_name":"x","x":1}') : Buffer.alloc(0);
  const headers: string[] = [];
  if (rng.chance(0.9)) headers.push('Host: 127.0.0.1');
  switch (rng.below(6)) {
    case 0:
      headers.push(`Content-Length: ${body.length}`);
      break;
    case 1:
      headers.push(`Content-Length: ${rng.pick([body.length + 5, Math.max(0, body.length - 3), -1, 99999999999, 'abc', '1, 2'])}`);
      break;
    case 2:
      headers.push('Transfer-Encoding: chunked');
      break;
    case 3:
      headers.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      break;
    default:
      if (body.length > 0) headers.push(`Content-Length: ${body.length}`);
  }
  if (rng.chance(0.2)) headers.push(`Accept: ${rng.pick(['text/plain;version=0.0.4', 'application/openmetrics-text', '*/*', ''])}`);
  if (rng.chance(0.1)) headers.push(`Connection: ${rng.pick(['close', 'keep-alive', 'upgrade'])}`);
  if (rng.chance(0.05)) headers.push(`X-Big: ${'a'.repeat(rng.pick([100, 20000, 70000]))}`);
  if (rng.chance(0.1)) headers.push(rng.text('abc: \t\r\u0000é', rng.length(40)));
  let payload = body;
  if (headers.includes('Transfer-Encoding: chunked')) {
    payload = rng.chance(0.7)
      ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(body.length > 0 ? '\r\n0\r\n\r\n' : '\r\n')])
      : Buffer.concat([Buffer.from(`${rng.text('0123456789abcdefxyz;', 1 + rng.below(6))}\r\n`), body]);
  }
  const newline = rng.chance(0.95) ? '\r\n' : '\n';
  const head = `${method} ${target} ${version}`.trimEnd() + newline + headers.map((header) => header + newline).join('') + newline;
  return Buffer.concat([Buffer.from(head, 'utf8'), payload]);
}

/** Every complete response in `received` must be well formed, and none a server failure. */
function checkHttpResponses(received: Buffer, context: string, sent?: Buffer): RawResponse[] {
  try {
    return checkHttpResponsesOf(received, context, sent?.subarray(0, 5).toString('latin1') === 'HEAD ');
  } catch (error) {
    const show = (bytes: Buffer | undefined): string => JSON.stringify(bytes?.subarray(0, 1500).toString('latin1'));
    (error as Error).message += `\nsent ${show(sent)}\nreceived ${show(received)}`;
    throw error;
  }
}

/** `headFirst`: the first answer is to a HEAD request and so has no body. */
function checkHttpResponsesOf(received: Buffer, context: string, headFirst: boolean): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = received;
  while (rest.length > 0) {
    // A trailing partial response is not checked.
    const parsed = parseResponse(rest, headFirst && responses.length === 0);
    if (!parsed) break;
    const response = parsed.response;
    assert.match(response.statusLine, /^HTTP\/1\.[01] \d{3} [A-Za-z ]+$/, context);
    assert.ok([200, 307, 400, 404, 405, 408, 413, 431].includes(response.status), `status ${response.status} ${response.text.slice(0, 200)} ${context}`);
    // Pegasus's calls answer text/plain (checked in admin-http.test.ts); a few Pteron calls differ.
    assert.ok(response.headers.has('content-type'), `${response.headerLines.join(' | ')} ${context}`);
    responses.push(response);
    rest = rest.subarray(parsed.bytes);
  }
  return responses;
}

// ---- the run -----------------------------------------------------------------------------

let server: RunningProcess;
let dataRoot = '';
let paths: string[] = [];

describe(`fuzzing one ${ROLE} server's port (seed ${SEED}; rerun with PTERON_FUZZ_SEED=${SEED})`, { timeout: 180_000 }, () => {
  before(async () => {
    dataRoot = await mkdtemp(path.join(os.tmpdir(), 'pteron-fuzz-'));
    // A meta lists itself; a replica server lists a port where no meta listens, so that its
    // beacons go nowhere.
    const port = await freePort();
    const metaList = ROLE === 'meta' ? port : await freePort();
    server = await startPteron(ROLE, {
      port,
      args: ['--set', `core.data_dir=${dataRoot}`, '--set', `meta_server.server_list=127.0.0.1:${metaList}`],
    });
    const listing = JSON.parse((await rawRequest(server.port, '/')).text) as Record<string, string>;
    // Profiles run for seconds (a minute by default) and hold a busy flag: not fuzzed here.
    paths = Object.keys(listing).map((key) => key.slice(1)).filter((key) => !/^pprof\/(profile|heap|growth|symbol)$/.test(key));
    paths.push('nope', 'meta/app', 'Version', 'pprof', 'version/x');
  });

  after(async () => {
    await server?.stop();
    if (dataRoot !== '') await rm(dataRoot, { recursive: true, force: true });
  });

  it('survives random bytes on fresh connections', async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const prefixes = ['', '', '', 'GET ', 'POST', 'THFT', 'PUT ', 'HEAD', 'G', 'TH', 'GET /', 'THFT\u0000\u0000\u0000\u0000'];
    await runCases(2500, async (index) => {
      const rng = rngOf(1, index);
      const data = Buffer.concat([Buffer.from(rng.pick(prefixes), 'latin1'), rng.bytes(rng.length(600))]);
      const result = await exchange(server.port, {
        chunks: fragments(rng, data, rng.chance(0.05)),
        end: rng.chance(0.6),
        lingerMs: LINGER_MS,
        reset: rng.chance(0.2),
      });
      if (data.subarray(0, 4).toString('latin1') === 'GET ' || data.subarray(0, 4).toString('latin1') === 'POST') {
        checkHttpResponses(result.received, `seed ${SEED} case 1/${index}`, data);
      }
    });
  });

  it('survives random THFT frames and answers the well-formed ones', async (t) => {
    t.diagnostic(`seed ${SEED}`);
    let answered = 0;
    await runCases(1500, async (index) => {
      const rng = rngOf(2, index);
      const frames = Array.from({ length: 1 + rng.below(4) }, () => randomThftFrame(rng));
      let data = Buffer.concat(frames);
      if (rng.chance(0.1)) data = data.subarray(0, rng.below(data.length + 1));
      const result = await exchange(server.port, {
        chunks: fragments(rng, data, rng.chance(0.1)),
        end: rng.chance(0.3),
        lingerMs: LINGER_MS,
        reset: rng.chance(0.2),
      });
      // Whatever comes back must be whole response frames for requests this client sent.
      let rest = result.received;
      for (;;) {
        const parsed = parseResponseFrame(rest, 1 << 24);
        if (!parsed) break;
        answered++;
        assert.match(parsed.frame.error, /^ERR_[A-Z_]+$/, `seed ${SEED} case 2/${index}`);
        assert.ok(parsed.frame.name.endsWith('_ACK'), `seed ${SEED} case 2/${index}`);
        rest = rest.subarray(parsed.bytes);
      }
    });
    // About 125 frames are answered per run (seeds differ by about 10): far fewer means the server
    // stopped answering well-formed frames; a bound near the mean would fail on unlucky seeds.
    assert.ok(answered > 50, `only ${answered} frames answered`);
  });

  it('survives random HTTP requests, never answering with a server error', async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const statuses = new Map<number, number>();
    await runCases(2500, async (index) => {
      const rng = rngOf(3, index);
      const count = rng.chance(0.8) ? 1 : 2 + rng.below(3);
      const requests = Array.from({ length: count }, () => randomHttpRequest(rng, paths, count > 1));
      const data = Buffer.concat(requests);
      const result = await exchange(server.port, {
        chunks: fragments(rng, data, rng.chance(0.05)),
        end: rng.chance(0.3),
        lingerMs: LINGER_MS * 2,
        reset: rng.chance(0.1),
      });
      for (const response of checkHttpResponses(result.received, `seed ${SEED} case 3/${index}`, data)) {
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    });
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) > 100, 'some requests were valid');
    assert.ok((statuses.get(400) ?? 0) > 100, 'some requests were rejected');
  });

  it('answers requests sent slowly, byte by byte, and survives abandoned ones', async () => {
    const version = (await rawRequest(server.port, '/version')).text;
    await runCases(48, async (index) => {
      const rng = rngOf(4, index);
      const whole = rng.chance(0.5)
        ? Buffer.from(`GET /version?x=${index} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
        : Buffer.concat([Buffer.from(`POST /version HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 64\r\n\r\n`), rng.bytes(64)]);
      const abandon = rng.chance(0.4);
      const data = abandon ? whole.subarray(0, 1 + rng.below(whole.length - 1)) : whole;
      const chunks = Array.from(data, (byte) => ({ data: Buffer.from([byte]), delayMs: rng.below(3) }));
      const result = await exchange(server.port, {
        chunks,
        end: false,
        lingerMs: abandon ? 20 : 3000,
        reset: abandon && rng.chance(0.5),
        done: (received) => parseResponse(received) !== undefined,
      });
      if (abandon) return;
      const parsed = parseResponse(result.received);
      assert.ok(parsed, `seed ${SEED} case 4/${index}: ${JSON.stringify(result.received.toString('latin1'))}`);
      assert.equal(parsed.response.status, 200);
      assert.equal(parsed.response.text, version);
    });
    // A THFT frame trickled in a byte at a time is still answered.
    const frame = encodeRequestFrameV0('RPC_PTERON_FUZZ_SLOW', 99, Buffer.from([0]));
    const result = await exchange(server.port, {
      chunks: Array.from(frame, (byte) => ({ data: Buffer.from([byte]), delayMs: 1 })),
      end: false,
      lingerMs: 3000,
      reset: false,
      done: (received) => parseResponseFrame(received, 1 << 20) !== undefined,
    });
    const parsed = parseResponseFrame(result.received, 1 << 20);
    assert.deepEqual(parsed && { error: parsed.frame.error, name: parsed.frame.name, seqid: parsed.frame.seqid }, {
      error: 'ERR_HANDLER_NOT_FOUND', name: 'RPC_PTERON_FUZZ_SLOW_ACK', seqid: 99,
    });
  });

  it('is the same process afterwards: alive, answering, no errors logged, connections released', async () => {
    assert.equal(server.child.exitCode, null, `exited: ${server.output().slice(-2000)}`);
    assert.equal(server.child.signalCode, null);
    process.kill(server.pid, 0);
    const response = await rawRequest(server.port, '/version');
    assert.equal(response.status, 200);
    assert.match(response.text, /^\{"Version":"[^"]+","GitCommit":"[0-9a-f]*"\}\n$/);
    // Every client above has hung up; the server must have let go of all of them.
    await waitFor(
      'server sessions to drain',
      async () => {
        const metrics = JSON.parse((await rawRequest(server.port, '/metrics?ids=server&metrics=network_server_sessions')).text) as {
          entities: Array<{ metrics: Array<{ value: number }> }>;
        };
        return metrics.entities[0]!.metrics[0]!.value <= 1;
      },
      10000,
      100,
    );
    // pino levels: 50 error, 60 fatal. Malformed frames are warnings (40) by design.
    const errors = server.output().split('\n').filter((line) => /"level":(50|60)/.test(line) || /Uncaught|FATAL|TypeError|RangeError/.test(line));
    assert.deepEqual(errors.slice(0, 5), [], `seed ${SEED}`);
  });
});
