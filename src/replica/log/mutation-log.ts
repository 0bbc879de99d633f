// The private mutation log ("plog") of one replica: every mutation it prepares is appended here
// and made durable before the replica acknowledges it, so a restart can rebuild the prepare list.
//
// Files in `dir` are `log.<index>.<firstDecree>` (index counts up, the decree is informative),
// rolled once a file would pass `fileBytesMax`. A file is a sequence of records:
//
//   u32 magic 0x504c4f31 ("PLO1") | u32 payload bytes | u32 CRC-32 of the payload
//   payload: u64 last committed decree | encodeMutation bytes
//
// All integers are big-endian. Appends are group-committed: records queued while a write+fsync is
// in flight go out together in one write and one fsync. With a shared log (shared-log.ts) the
// group is written here but made durable by the shared log's fsync, which this server's other
// replicas share; this file is synced when it is rolled, closed, or the shared log asks.
// A write or fsync failure fails the log: that group and every later append are rejected, and
// the next open cuts any torn tail.
import { mkdir, open as openFile, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PteronError, assert, type Gpid } from '../../base/index.ts';
import { FRAME_HEAD_BYTES, datasyncLog, encodeFrame, scanFrames, syncDir, writeFully } from './log-io.ts';
import type { SharedLog, SharedLogMember } from './shared-log.ts';
import { decodeMutation, encodeMutation } from './mutation-codec.ts';
import type { Mutation } from '../write/mutation.ts';

export interface LogRecord {
  mutation: Mutation;
  lastCommittedDecree: number;
}

export interface MutationLogOptions {
  dir: string;
  /** A file is rolled before a write would take it past this size (default 32 MiB). */
  fileBytesMax?: number;
  /** fsync every group before its appends resolve (default true). */
  fsync?: boolean;
  /**
   * With `fsync`: make groups durable through this server's shared log instead of fsyncing this
   * log's file for each (shared-log.ts); this replica's gpid names them there.
   */
  shared?: { log: SharedLog; gpid: Gpid };
}

export interface OpenedMutationLog {
  log: MutationLog;
  /** Every record of every file, in append order; a decree may repeat with a newer ballot. */
  records: LogRecord[];
  /** Bytes cut from the end of the last file (a torn or corrupt tail), 0 when it was whole. */
  tornBytes: number;
  /** The path of the file that was cut, when tornBytes > 0. */
  tornFile?: string;
}

const RECORD_MAGIC = 0x504c4f31;
const DECREE_BYTES = 8;
/** Larger payloads are rejected on append and treated as corruption on replay. */
const PAYLOAD_BYTES_MAX = 128 * 1024 * 1024;
const FILE_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;
/** Group commit bounds: one write never carries more than this (a bigger single record goes alone). */
const GROUP_BYTES_MAX = 4 * 1024 * 1024;
const GROUP_RECORDS_MAX = 1024;
const FILE_NAME = /^log\.(\d+)\.(\d+)$/;

interface LogFile {
  index: number;
  name: string;
  /** Valid bytes (what replay accepted plus what this process wrote). */
  bytes: number;
  /** The highest decree in the file, 0 when it has no record. */
  maxDecree: number;
}

interface PendingRecord {
  kind: 'record';
  frame: Buffer;
  decree: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Operations that must not interleave with writes (rolls, deletions, close). */
interface PendingControl {
  kind: 'control';
  run: () => Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

type QueueItem = PendingRecord | PendingControl;

type LogSettings = Required<Omit<MutationLogOptions, 'shared'>> & Pick<MutationLogOptions, 'shared'>;

function corruptAt(file: string, offset: number, what: string): PteronError {
  return new PteronError('ERR_INVALID_DATA', `mutation log ${file} at offset ${offset}: ${what}`);
}

/** A record is logged for a decree its replica has not committed yet (decree 1 on). */
function recordFollowsItsCommitPoint(record: LogRecord): boolean {
  return record.mutation.decree > record.lastCommittedDecree;
}

/** The frame of one record; pure. */
function encodeRecord(record: LogRecord): Buffer {
  const mutationBytes = encodeMutation(record.mutation);
  const frame = encodeFrame(RECORD_MAGIC, DECREE_BYTES + mutationBytes.length, (payload) => {
    payload.writeBigUInt64BE(BigInt(record.lastCommittedDecree), 0);
    mutationBytes.copy(payload, DECREE_BYTES);
  });
  assert(frame.length === FRAME_HEAD_BYTES + DECREE_BYTES + mutationBytes.length, 'a record frame holds its head, commit point and mutation');
  return frame;
}

interface ScannedFile {
  records: LogRecord[];
  /** Bytes up to the end of the last whole record. */
  validBytes: number;
  maxDecree: number;
  /** Why scanning stopped before the end of the buffer. */
  problem?: { offset: number; what: string };
}

/** Reads whole records from the start of a file's bytes and stops at the first bad one; pure. */
function scanRecords(bytes: Buffer, file: string): ScannedFile {
  const scanned = scanFrames(bytes, RECORD_MAGIC, DECREE_BYTES, PAYLOAD_BYTES_MAX);
  const records: LogRecord[] = [];
  let maxDecree = 0;
  let frameBytes = 0;
  for (const payload of scanned.payloads) {
    frameBytes += FRAME_HEAD_BYTES + payload.length;
    // Past the CRC the bytes are what was written: a failure to decode them is not a torn tail.
    const offset = payload.byteOffset - bytes.byteOffset - FRAME_HEAD_BYTES;
    const lastCommitted = payload.readBigUInt64BE(0);
    if (lastCommitted > BigInt(Number.MAX_SAFE_INTEGER)) throw corruptAt(file, offset, `last committed decree ${lastCommitted} out of range`);
    let mutation: Mutation;
    try {
      mutation = decodeMutation(payload.subarray(DECREE_BYTES));
    } catch (error) {
      throw corruptAt(file, offset, (error as Error).message);
    }
    const record = { mutation, lastCommittedDecree: Number(lastCommitted) };
    // The CRC matched, so these are the bytes append wrote, which checked this.
    assert(recordFollowsItsCommitPoint(record), `replayed decree ${mutation.decree} follows its commit point ${lastCommitted} (${file} at ${offset})`);
    records.push(record);
    if (mutation.decree > maxDecree) maxDecree = mutation.decree;
  }
  assert(frameBytes === scanned.validBytes, `the replayed records of ${file} span the ${scanned.validBytes} bytes accepted`);
  return { records, validBytes: scanned.validBytes, maxDecree, ...(scanned.problem && { problem: scanned.problem }) };
}

/** Log files in `dir`, by index. */
async function listLogFiles(dir: string): Promise<LogFile[]> {
  const files: LogFile[] = [];
  for (const name of await readdir(dir)) {
    const match = FILE_NAME.exec(name);
    if (!match) continue;
    files.push({ index: Number(match[1]), name, bytes: 0, maxDecree: 0 });
  }
  files.sort((a, b) => a.index - b.index);
  for (let position = 1; position < files.length; position++) {
    if (files[position]!.index === files[position - 1]!.index) {
      throw new PteronError('ERR_INVALID_DATA', `mutation log ${dir}: two files with index ${files[position]!.index}`);
    }
  }
  return files;
}

export class MutationLog {
  private readonly dir: string;
  private readonly fileBytesMax: number;
  private readonly groupBytesMax: number;
  private readonly fsync: boolean;
  /** Every file on disk, oldest first; the last one is the one written. */
  private files: LogFile[];
  private handle: FileHandle | undefined;
  private nextIndex: number;
  private highestDecree: number;
  private queue: QueueItem[] = [];
  private draining = false;
  private failure: Error | undefined;
  private closed = false;
  private syncs = 0;
  private writes = 0;
  /** Set while groups are made durable through the shared log. */
  private shared: SharedLogMember | undefined;

  private constructor(options: LogSettings, files: LogFile[], handle: FileHandle | undefined, highestDecree: number) {
    this.dir = options.dir;
    this.fileBytesMax = options.fileBytesMax;
    this.groupBytesMax = Math.min(GROUP_BYTES_MAX, options.fileBytesMax);
    this.fsync = options.fsync;
    this.files = files;
    this.handle = handle;
    this.nextIndex = files.length > 0 ? files[files.length - 1]!.index + 1 : 1;
    this.highestDecree = highestDecree;
    if (options.fsync && options.shared !== undefined) this.shared = options.shared.log.join(options.shared.gpid, () => this.syncWritten());
  }

  /**
   * Opens (creating `dir` if needed) and replays every file. A bad tail of the last file is cut
   * off and reported; a bad record in any earlier file throws ERR_INVALID_DATA.
   */
  static async open(options: MutationLogOptions): Promise<OpenedMutationLog> {
    const settings: LogSettings = {
      dir: options.dir,
      fileBytesMax: options.fileBytesMax ?? FILE_BYTES_MAX_DEFAULT,
      fsync: options.fsync ?? true,
      shared: options.shared,
    };
    assert(Number.isSafeInteger(settings.fileBytesMax) && settings.fileBytesMax > 0, 'fileBytesMax is a positive integer');
    await mkdir(settings.dir, { recursive: true });
    const files = await listLogFiles(settings.dir);
    const records: LogRecord[] = [];
    let highestDecree = 0;
    let tornBytes = 0;
    let tornFile: string | undefined;
    for (let position = 0; position < files.length; position++) {
      const file = files[position]!;
      const filePath = path.join(settings.dir, file.name);
      const bytes = await readFile(filePath);
      const scanned = scanRecords(bytes, filePath);
      const isLast = position === files.length - 1;
      if (scanned.problem !== undefined) {
        // Only the file being written when the process stopped can end in a partial write.
        if (!isLast) throw corruptAt(filePath, scanned.problem.offset, scanned.problem.what);
        tornBytes = bytes.length - scanned.validBytes;
        tornFile = filePath;
      }
      assert(scanned.validBytes <= bytes.length, 'replay accepted no more bytes than the file has');
      file.bytes = scanned.validBytes;
      file.maxDecree = scanned.maxDecree;
      if (scanned.maxDecree > highestDecree) highestDecree = scanned.maxDecree;
      for (const record of scanned.records) records.push(record);
    }
    let handle: FileHandle | undefined;
    const last = files[files.length - 1];
    if (last !== undefined) {
      handle = await openFile(path.join(settings.dir, last.name), 'r+');
      try {
        if (tornBytes > 0) {
          await handle.truncate(last.bytes);
          await handle.datasync();
        }
      } catch (error) {
        await handle.close();
        throw error;
      }
    }
    const log = new MutationLog(settings, files, handle, highestDecree);
    return { log, records, tornBytes, ...(tornFile !== undefined && { tornFile }) };
  }

  /** Highest decree appended or replayed; 0 when the log is empty. */
  get lastDecree(): number {
    return this.highestDecree;
  }

  get fileCount(): number {
    return this.files.length;
  }

  /** Group writes that were fsynced (one per group commit when fsync is on). */
  get syncCount(): number {
    return this.syncs;
  }

  /** Group writes issued. */
  get writeCount(): number {
    return this.writes;
  }

  /** Resolves once the record is written (and fsynced when `fsync` is on), after every earlier append. */
  append(record: LogRecord): Promise<void> {
    if (this.closed) return Promise.reject(new PteronError('ERR_INVALID_STATE', 'mutation log is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let frame: Buffer;
    try {
      assert(Number.isSafeInteger(record.lastCommittedDecree) && record.lastCommittedDecree >= 0, 'last committed decree is a non-negative safe integer');
      assert(recordFollowsItsCommitPoint(record), `appended decree ${record.mutation.decree} follows its commit point ${record.lastCommittedDecree}`);
      frame = encodeRecord(record);
    } catch (error) {
      return Promise.reject(error);
    }
    if (frame.length - FRAME_HEAD_BYTES > PAYLOAD_BYTES_MAX) {
      return Promise.reject(new PteronError('ERR_INVALID_PARAMETERS', `mutation ${record.mutation.decree} takes ${frame.length} bytes, more than a log record holds`));
    }
    if (record.mutation.decree > this.highestDecree) this.highestDecree = record.mutation.decree;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'record', frame, decree: record.mutation.decree, resolve, reject });
      this.kick();
    });
  }

  /**
   * The records of every file that holds a decree after `decree`, in append order, and the bytes
   * read, for a reader beside the writer (duplication): the file being written is read up to its
   * last whole record. A file collected meanwhile is skipped.
   */
  async readAfter(decree: number): Promise<{ records: LogRecord[]; bytes: number }> {
    const records: LogRecord[] = [];
    let bytes = 0;
    for (const file of this.files.filter((candidate) => candidate.maxDecree > decree)) {
      const filePath = path.join(this.dir, file.name);
      let content: Buffer;
      try {
        content = await readFile(filePath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      bytes += content.length;
      for (const record of scanRecords(content, filePath).records) if (record.mutation.decree > decree) records.push(record);
    }
    return { records, bytes };
  }

  /** Deletes every file, other than the one being written, whose records all have decree <= durableDecree. */
  gc(durableDecree: number): Promise<number> {
    let removed = 0;
    return this.control(async () => {
      const current = this.files[this.files.length - 1];
      const doomed = this.files.filter((file) => file !== current && file.maxDecree <= durableDecree);
      if (doomed.length === 0) return;
      // Forget them first: a failed unlink leaves a file that replay reads again, which is harmless.
      this.files = this.files.filter((file) => !doomed.includes(file));
      for (const file of doomed) {
        await unlink(path.join(this.dir, file.name));
        removed += 1;
      }
      if (this.fsync) await syncDir(this.dir);
    }, false).then(() => removed);
  }

  /** Drops every record and file; later appends start a new file. */
  reset(): Promise<void> {
    return this.control(async () => {
      await this.closeHandle();
      const doomed = this.files;
      this.files = [];
      this.highestDecree = this.highestAppendedAfterReset();
      for (const file of doomed) await unlink(path.join(this.dir, file.name));
      // An old file coming back after a crash would replay records the learner replaced.
      await syncDir(this.dir);
    }, true);
  }

  /** Waits for queued appends, then closes the file (synced, when the shared log held its groups); later calls are rejected. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = this.control(async () => {
      const shared = this.shared;
      try {
        // The shared log keeps this log's groups until it hears they are durable here.
        if (shared !== undefined) {
          await this.handle?.datasync();
          this.shared = undefined;
          await shared.leave();
        }
      } finally {
        await this.closeHandle();
      }
    }, false);
    this.closed = true;
    return done;
  }

  // -------------------------------------------------------------------------------------------

  /** Appends queued behind a reset are not dropped by it; they set the new last decree. */
  private highestAppendedAfterReset(): number {
    let highest = 0;
    for (const item of this.queue) if (item.kind === 'record' && item.decree > highest) highest = item.decree;
    return highest;
  }

  private control(run: () => Promise<void>, failsWithLog: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new PteronError('ERR_INVALID_STATE', 'mutation log is closed'));
    return new Promise<void>((resolve, reject) => {
      const guarded = async (): Promise<void> => {
        if (failsWithLog && this.failure !== undefined) throw this.failure;
        await run();
      };
      this.queue.push({ kind: 'control', run: guarded, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    // Start on the next microtask, so that appends issued in the same tick share the first group.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === 'control') {
        this.queue.shift();
        try {
          await head.run();
          head.resolve();
        } catch (error) {
          head.reject(error as Error);
        }
        continue;
      }
      const group = this.takeGroup();
      if (this.failure !== undefined) {
        for (const item of group) item.reject(this.failure);
        continue;
      }
      try {
        await this.writeGroup(group);
      } catch (error) {
        this.failure = error instanceof PteronError ? error : new PteronError('ERR_FILE_OPERATION_FAILED', `mutation log write failed: ${(error as Error).message}`);
        for (const item of group) item.reject(this.failure);
        continue;
      }
      for (const item of group) item.resolve();
    }
    this.draining = false;
  }

  /** The records at the head of the queue, up to the group bounds (always at least one). */
  private takeGroup(): PendingRecord[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < GROUP_RECORDS_MAX) {
      const item = this.queue[count]!;
      if (item.kind !== 'record') break;
      if (count > 0 && bytes + item.frame.length > this.groupBytesMax) break;
      bytes += item.frame.length;
      count += 1;
    }
    assert(count > 0, 'a group takes at least the record at the head of the queue');
    return this.queue.splice(0, count) as PendingRecord[];
  }

  private async writeGroup(group: PendingRecord[]): Promise<void> {
    const bytes = group.length === 1 ? group[0]!.frame : Buffer.concat(group.map((item) => item.frame));
    let current = this.files[this.files.length - 1];
    if (current === undefined || this.handle === undefined || (current.bytes > 0 && current.bytes + bytes.length > this.fileBytesMax)) {
      current = await this.roll(group[0]!.decree);
    }
    const handle = this.handle;
    assert(handle !== undefined, 'a file is open for writing');
    this.writes += 1;
    const offset = current.bytes;
    assert(offset + bytes.length <= this.fileBytesMax || offset === 0, 'a group goes to a file with room for it, or alone into a new one');
    writeFully(handle.fd, bytes, offset);
    current.bytes += bytes.length;
    for (const item of group) if (item.decree > current.maxDecree) current.maxDecree = item.decree;
    if (this.shared !== undefined) {
      await this.shared.append(current.index, offset, bytes);
      this.syncs += 1;
    } else if (this.fsync) {
      await datasyncLog(handle);
      this.syncs += 1;
    }
  }

  /** fsyncs the file being written, for the shared log, which then no longer needs its copies of the groups. */
  private async syncWritten(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    try {
      await handle.datasync();
    } catch (error) {
      // A file that was rolled meanwhile was synced by the roll; one a reset closed was deleted.
      if (this.handle === handle) throw error;
    }
  }

  /** Finishes the current file and starts the next one, whose name carries `firstDecree`. */
  private async roll(firstDecree: number): Promise<LogFile> {
    if (this.handle !== undefined) {
      // Even without fsync-per-group, a finished file is made durable: only the last file may then
      // end torn, which is what lets replay treat damage in an earlier file as corruption.
      await this.handle.datasync();
      await this.closeHandle();
    }
    const file: LogFile = { index: this.nextIndex, name: `log.${this.nextIndex}.${firstDecree}`, bytes: 0, maxDecree: 0 };
    this.nextIndex += 1;
    this.handle = await openFile(path.join(this.dir, file.name), 'wx');
    this.files.push(file);
    await syncDir(this.dir);
    return file;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
