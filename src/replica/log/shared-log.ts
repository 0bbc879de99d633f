// The shared log ("slog") of a replica server: one fsync makes the groups of every replica's
// private log durable at once. A replica with a shared log writes each group to its private log
// without syncing it, then hands the same bytes here; they are acknowledged once this log synced
// them. Per replica, an fsync per group costs about as much CPU as everything else a small group
// needs, and a server hosts many replicas.
//
// The shared log is only a redo log for the private logs, never read while serving:
// - Start-up (`SharedLog.open`) writes every group it holds back into its private log file at its
//   offset (the bytes are the same, so rewriting a group the file still has is harmless), syncs
//   those files and deletes the shared files. Private logs then replay as usual.
// - A group whose private file is gone (collected, or dropped by a learner's reset) is skipped.
//   File indexes of a private log only grow while the process runs, and start-up empties the
//   shared log, so a group never lands in a newer file of the same name.
// - A replica that closes syncs its private log and writes a `leave` record: start-up skips the
//   groups of that replica before it, which may belong to a directory since moved aside.
// - Once a file is full the next one starts, and the full ones are deleted after every member
//   synced its private log (everything they held is then durable where it belongs).
//
// Files in `dir` are `slog.<index>`; each is a sequence of frames (log-io.ts) with payload
//
//   u8 kind (1 group, 2 leave) | u32 app id | u32 partition index
//   group: u32 private file index | u64 offset in that file | the group's bytes
import { mkdir, open as openFile, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PteronError, assert, log, type Gpid } from '../../base/index.ts';
import { datasyncLog, encodeFrame, scanFrames, syncDir, writeFully } from './log-io.ts';

export interface SharedLogOptions {
  dir: string;
  /** Where the private log of a replica keeps its files. */
  privateLogDirOf: (gpid: Gpid) => string;
  /** A file is full past this size (default 32 MiB). */
  fileBytesMax?: number;
}

/** What a private log sees of the shared log. */
export interface SharedLogMember {
  /** Resolves once `bytes`, written at `offset` of private file `fileIndex`, are durable. */
  append(fileIndex: number, offset: number, bytes: Buffer): Promise<void>;
  /** The private log synced itself for good (it is closing): its groups here are not needed any more. */
  leave(): Promise<void>;
}

export interface RecoveredSharedLog {
  log: SharedLog;
  /** Groups written back into private log files. */
  groupsRedone: number;
  /** Groups of private files that are gone, or of replicas that left. */
  groupsSkipped: number;
  /** Bytes of a torn tail at the end of the last shared file (not acknowledged, so not needed). */
  tornBytes: number;
}

const RECORD_MAGIC = 0x534c4731; // "SLG1"
const KIND_GROUP = 1;
const KIND_LEAVE = 2;
const HEAD_BYTES = 1 + 4 + 4;
const GROUP_HEAD_BYTES = HEAD_BYTES + 4 + 8;
const PAYLOAD_BYTES_MAX = 128 * 1024 * 1024;
const FILE_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;
const FILE_NAME = /^slog\.(\d+)$/;
const PRIVATE_FILE_NAME = /^log\.(\d+)\.\d+$/;

interface Pending {
  frame: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Member {
  /** fsyncs the member's private log file being written. */
  sync: () => Promise<void>;
}

function gpidKey(gpid: Gpid): string {
  return `${gpid.appId}.${gpid.partitionIndex}`;
}

function encodeHead(payload: Buffer, kind: number, gpid: Gpid): void {
  payload.writeUInt8(kind, 0);
  payload.writeUInt32BE(gpid.appId, 1);
  payload.writeUInt32BE(gpid.partitionIndex, 5);
}

async function listFiles(dir: string): Promise<Array<{ index: number; name: string }>> {
  const files: Array<{ index: number; name: string }> = [];
  for (const name of await readdir(dir)) {
    const match = FILE_NAME.exec(name);
    if (match) files.push({ index: Number(match[1]), name });
  }
  return files.sort((a, b) => a.index - b.index);
}

interface Redo {
  gpid: Gpid;
  fileIndex: number;
  offset: number;
  bytes: Buffer;
}

/** The groups to write back, in order, without those of a replica before it left; pure. */
function groupsToRedo(payloads: readonly Buffer[], file: string): { redo: Redo[]; skipped: number } {
  let redo: Redo[] = [];
  let skipped = 0;
  for (const payload of payloads) {
    if (payload.length < HEAD_BYTES) throw new PteronError('ERR_INVALID_DATA', `shared log ${file}: a record of ${payload.length} bytes`);
    const kind = payload.readUInt8(0);
    const gpid = { appId: payload.readUInt32BE(1), partitionIndex: payload.readUInt32BE(5) };
    if (kind === KIND_LEAVE) {
      const kept = redo.filter((group) => gpidKey(group.gpid) !== gpidKey(gpid));
      skipped += redo.length - kept.length;
      redo = kept;
    } else if (kind === KIND_GROUP && payload.length >= GROUP_HEAD_BYTES) {
      const offset = payload.readBigUInt64BE(HEAD_BYTES + 4);
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new PteronError('ERR_INVALID_DATA', `shared log ${file}: offset ${offset} out of range`);
      redo.push({ gpid, fileIndex: payload.readUInt32BE(HEAD_BYTES), offset: Number(offset), bytes: payload.subarray(GROUP_HEAD_BYTES) });
    } else {
      throw new PteronError('ERR_INVALID_DATA', `shared log ${file}: a record of kind ${kind} and ${payload.length} bytes`);
    }
  }
  return { redo, skipped };
}

/** Writes the groups back into their private files; returns how many were written. */
async function redoGroups(redo: readonly Redo[], privateLogDirOf: (gpid: Gpid) => string): Promise<number> {
  const handles = new Map<string, FileHandle | undefined>();
  const fileNames = new Map<string, Map<number, string>>();
  let written = 0;
  try {
    for (const group of redo) {
      const dir = privateLogDirOf(group.gpid);
      let names = fileNames.get(dir);
      if (names === undefined) {
        names = new Map();
        const entries = await readdir(dir).catch(() => [] as string[]);
        for (const name of entries) {
          const match = PRIVATE_FILE_NAME.exec(name);
          if (match) names.set(Number(match[1]), name);
        }
        fileNames.set(dir, names);
      }
      const name = names.get(group.fileIndex);
      if (name === undefined) continue;
      const file = path.join(dir, name);
      if (!handles.has(file)) handles.set(file, await openFile(file, 'r+'));
      writeFully(handles.get(file)!.fd, group.bytes, group.offset);
      written += 1;
    }
    for (const handle of handles.values()) await handle?.datasync();
  } finally {
    for (const handle of handles.values()) await handle?.close();
  }
  return written;
}

export class SharedLog {
  private readonly dir: string;
  private readonly fileBytesMax: number;
  private handle: FileHandle | undefined;
  private fileIndex: number;
  private fileBytes = 0;
  /** Full files, oldest first, to delete once every member synced. */
  private full: string[] = [];
  private readonly members = new Set<Member>();
  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private collecting = false;
  private failure: Error | undefined;
  private closed = false;
  private syncs = 0;

  private constructor(dir: string, fileBytesMax: number, handle: FileHandle, fileIndex: number) {
    this.dir = dir;
    this.fileBytesMax = fileBytesMax;
    this.handle = handle;
    this.fileIndex = fileIndex;
  }

  /** Writes back what a previous run left, deletes those files and starts a new one. */
  static async open(options: SharedLogOptions): Promise<RecoveredSharedLog> {
    const fileBytesMax = options.fileBytesMax ?? FILE_BYTES_MAX_DEFAULT;
    assert(Number.isSafeInteger(fileBytesMax) && fileBytesMax > 0, 'fileBytesMax is a positive integer');
    await mkdir(options.dir, { recursive: true });
    const files = await listFiles(options.dir);
    const payloads: Buffer[] = [];
    let tornBytes = 0;
    for (let position = 0; position < files.length; position++) {
      const file = path.join(options.dir, files[position]!.name);
      const bytes = await readFile(file);
      const scanned = scanFrames(bytes, RECORD_MAGIC, HEAD_BYTES, PAYLOAD_BYTES_MAX);
      if (scanned.problem !== undefined) {
        // Only the file being written can end in a partial write; its tail was never acknowledged.
        if (position !== files.length - 1) {
          throw new PteronError('ERR_INVALID_DATA', `shared log ${file} at offset ${scanned.problem.offset}: ${scanned.problem.what}`);
        }
        tornBytes = bytes.length - scanned.validBytes;
      }
      payloads.push(...scanned.payloads);
    }
    const { redo, skipped } = groupsToRedo(payloads, options.dir);
    const groupsRedone = await redoGroups(redo, options.privateLogDirOf);
    for (const file of files) await unlink(path.join(options.dir, file.name));
    const fileIndex = (files[files.length - 1]?.index ?? 0) + 1;
    const handle = await openFile(path.join(options.dir, `slog.${fileIndex}`), 'wx');
    await syncDir(options.dir);
    const log = new SharedLog(options.dir, fileBytesMax, handle, fileIndex);
    return { log, groupsRedone, groupsSkipped: skipped + redo.length - groupsRedone, tornBytes };
  }

  /** Group writes that were fsynced. */
  get syncCount(): number {
    return this.syncs;
  }

  /** Files on disk: the one written and the full ones not deleted yet. */
  get fileCount(): number {
    return this.full.length + (this.handle === undefined ? 0 : 1);
  }

  /** A replica's private log joins; `sync` fsyncs the private file it is writing. */
  join(gpid: Gpid, sync: () => Promise<void>): SharedLogMember {
    const member: Member = { sync };
    this.members.add(member);
    return {
      append: (fileIndex, offset, bytes) => {
        assert(this.members.has(member), 'a private log appends to the shared log only while it is a member');
        const frame = encodeFrame(RECORD_MAGIC, GROUP_HEAD_BYTES + bytes.length, (payload) => {
          encodeHead(payload, KIND_GROUP, gpid);
          payload.writeUInt32BE(fileIndex, HEAD_BYTES);
          payload.writeBigUInt64BE(BigInt(offset), HEAD_BYTES + 4);
          bytes.copy(payload, GROUP_HEAD_BYTES);
        });
        return this.enqueue(frame);
      },
      leave: () => {
        this.members.delete(member);
        return this.enqueue(encodeFrame(RECORD_MAGIC, HEAD_BYTES, (payload) => encodeHead(payload, KIND_LEAVE, gpid)));
      },
    };
  }

  /** Waits for queued records, then closes the file (members must have left or be closed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing || this.scheduled || this.queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  // -------------------------------------------------------------------------------------------

  private enqueue(frame: Buffer): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.handle === undefined) return Promise.reject(new PteronError('ERR_INVALID_STATE', 'shared log is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      this.schedule();
    });
  }

  /** Writes at the end of the event-loop turn, so the groups of every replica in it share one fsync. */
  private schedule(): void {
    if (this.writing || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.writeQueued();
    });
  }

  private async writeQueued(): Promise<void> {
    const group = this.queue;
    this.queue = [];
    this.writing = true;
    try {
      if (this.failure !== undefined) throw this.failure;
      const handle = this.handle;
      assert(handle !== undefined, 'the shared log has a file open');
      const bytes = group.length === 1 ? group[0]!.frame : Buffer.concat(group.map((item) => item.frame));
      writeFully(handle.fd, bytes, this.fileBytes);
      this.fileBytes += bytes.length;
      await datasyncLog(handle);
      this.syncs += 1;
      if (this.fileBytes >= this.fileBytesMax) await this.startNextFile();
      for (const item of group) item.resolve();
    } catch (error) {
      this.failure ??= error instanceof PteronError ? error : new PteronError('ERR_FILE_OPERATION_FAILED', `shared log write failed: ${(error as Error).message}`);
      for (const item of group) item.reject(this.failure);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  private async startNextFile(): Promise<void> {
    const previous = this.handle!;
    this.full.push(`slog.${this.fileIndex}`);
    this.fileIndex += 1;
    this.handle = await openFile(path.join(this.dir, `slog.${this.fileIndex}`), 'wx');
    this.fileBytes = 0;
    await previous.close();
    await syncDir(this.dir);
    void this.collect();
  }

  /** Deletes the full files once every member synced what they hold. A failure keeps them for the next try. */
  private async collect(): Promise<void> {
    if (this.collecting || this.full.length === 0) return;
    this.collecting = true;
    const doomed = [...this.full];
    try {
      await Promise.all([...this.members].map((member) => member.sync()));
      for (const name of doomed) {
        await unlink(path.join(this.dir, name)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        this.full = this.full.filter((kept) => kept !== name);
      }
      await syncDir(this.dir);
    } catch (error) {
      log.warn({ dir: this.dir, err: (error as Error).message }, 'could not collect full shared log files; they are kept');
    } finally {
      this.collecting = false;
    }
  }
}
