// What a block service (a remote file store for backups and bulk loads) offers, whatever the
// provider: Pegasus's local_service today; an S3-compatible or HDFS provider implements the same
// interface. Paths are `/`-separated and relative to the provider's root. Every file carries its
// size and md5 (Pegasus's file_metadata), which reads, uploads and downloads check.
import { PteronError } from '../base/index.ts';

/** Pegasus's file_metadata: what the provider recorded of a file it holds. */
export interface FileMeta {
  readonly size: number;
  readonly md5: string;
}

export interface ListEntry {
  readonly name: string;
  readonly isDirectory: boolean;
}

export interface BlockService {
  /** The provider type, e.g. `local_service`. */
  readonly type: string;
  /**
   * Files (those with metadata) and directories directly under `dir`. ERR_OBJECT_NOT_FOUND when
   * `dir` does not exist, ERR_INVALID_PARAMETERS when it is a file.
   */
  list(dir: string): Promise<ListEntry[]>;
  /** The recorded size and md5 of `file`, or undefined when it (or its metadata) is missing. */
  stat(file: string): Promise<FileMeta | undefined>;
  /** The whole file; ERR_OBJECT_NOT_FOUND when missing, ERR_CORRUPTION when it does not match its md5. */
  read(file: string): Promise<Buffer>;
  /** Writes `data` as `file` (replacing it) and records its size and md5. */
  write(file: string, data: Uint8Array): Promise<FileMeta>;
  /**
   * Copies the local file to `remote` and records its size and md5. Resumable: a remote file
   * whose recorded size and md5 already match the local file is left as it is.
   */
  upload(localFile: string, remote: string): Promise<FileMeta>;
  /**
   * Copies `remote` to the local file, checked against the md5 the provider recorded (and
   * `expectedMd5` when given). Resumable: a local file that already matches is kept, and a
   * partial download left by an interrupted one is continued. A mismatch leaves no local file
   * and fails with ERR_CORRUPTION; a missing remote file fails with ERR_OBJECT_NOT_FOUND.
   */
  download(remote: string, localFile: string, expectedMd5?: string): Promise<FileMeta>;
  /**
   * Removes a file or a directory. ERR_OBJECT_NOT_FOUND when missing; ERR_DIR_NOT_EMPTY for a
   * directory with content unless `recursive`.
   */
  remove(path: string, recursive: boolean): Promise<void>;
}

/** Joins path components with `/`, dropping empty ones and repeated slashes (Pegasus's path_combine). */
export function joinBlockPath(...parts: string[]): string {
  const joined = parts.filter((part) => part !== '').join('/').replace(/\/+/g, '/');
  return joined;
}

/** A relative block path that stays under the root: no `..` component, no NUL. */
export function checkBlockPath(path: string): void {
  if (path.includes('\u0000') || path.split('/').some((part) => part === '..')) {
    throw new PteronError('ERR_INVALID_PARAMETERS', `invalid block service path ${JSON.stringify(path)}`);
  }
}
