// The writes one cluster ships to another (RPC_RRDB_RRDB_DUPLICATE, spec pegasus-arch §3.9). Each
// entry names the original request's RPC and carries its argument in thrift binary, as Pegasus's
// raw_message does: the update_request, multi_put_request or multi_remove_request struct, or
// the key blob of a remove. Only idempotent writes travel: a duplicated table refuses the atomic
// ones unless it makes them idempotent, which turns them into puts before they are logged.
import { PteronError } from '../../base/index.ts';
import { TIMESTAMP_US_MAX } from '../../storage/index.ts';
import {
  RPCS, ThriftDecodeError, ThriftReader, ThriftWriter, multiPutRequestCodec, multiRemoveRequestCodec, updateRequestCodec,
  type DuplicateEntry, type DuplicateRequest,
} from '../../wire/index.ts';
import type { ClientWrite } from './mutation.ts';

/** An entry that carries no write: ERR_INVALID_DATA, with the hint the follower answers. */
export class MalformedEntryError extends PteronError {
  constructor(readonly hint: string) {
    super('ERR_INVALID_DATA', hint);
  }
}

export type DuplicatedWrite = Extract<ClientWrite, { op: 'put' | 'remove' | 'multi_put' | 'multi_remove' }>;

const TASK_CODE_OF: Readonly<Record<DuplicatedWrite['op'], string>> = {
  put: RPCS.RPC_RRDB_RRDB_PUT.name,
  remove: RPCS.RPC_RRDB_RRDB_REMOVE.name,
  multi_put: RPCS.RPC_RRDB_RRDB_MULTI_PUT.name,
  multi_remove: RPCS.RPC_RRDB_RRDB_MULTI_REMOVE.name,
};

export function isDuplicatedWrite(write: ClientWrite): write is DuplicatedWrite {
  return Object.hasOwn(TASK_CODE_OF, write.op);
}

/** The entry's task code and raw message of a write. */
export function rawMessageOf(write: DuplicatedWrite): { taskCode: string; rawMessage: Buffer } {
  const writer = new ThriftWriter(64);
  switch (write.op) {
    case 'put':
      updateRequestCodec.write(writer, write.request);
      break;
    case 'remove':
      writer.binary(write.key);
      break;
    case 'multi_put':
      multiPutRequestCodec.write(writer, write.request);
      break;
    case 'multi_remove':
      multiRemoveRequestCodec.write(writer, write.request);
      break;
  }
  return { taskCode: TASK_CODE_OF[write.op], rawMessage: writer.finish() };
}

function readWrite(taskCode: string, reader: ThriftReader): DuplicatedWrite | undefined {
  switch (taskCode) {
    case RPCS.RPC_RRDB_RRDB_PUT.name:
      return { op: 'put', request: updateRequestCodec.read(reader) };
    case RPCS.RPC_RRDB_RRDB_REMOVE.name:
      return { op: 'remove', key: reader.binary() };
    case RPCS.RPC_RRDB_RRDB_MULTI_PUT.name:
      return { op: 'multi_put', request: multiPutRequestCodec.read(reader) };
    case RPCS.RPC_RRDB_RRDB_MULTI_REMOVE.name:
      return { op: 'multi_remove', request: multiRemoveRequestCodec.read(reader) };
    default:
      return undefined;
  }
}

/** The write an entry carries; a MalformedEntryError (Pegasus's hint for an unknown task code) when it carries none. */
export function decodeRawMessage(taskCode: string | undefined, rawMessage: Buffer | undefined): DuplicatedWrite {
  const reader = new ThriftReader(rawMessage ?? Buffer.alloc(0));
  let write: DuplicatedWrite | undefined;
  try {
    write = readWrite(taskCode ?? '', reader);
  } catch (error) {
    if (!(error instanceof ThriftDecodeError || error instanceof RangeError)) throw error;
    throw new MalformedEntryError(`raw message of ${taskCode} does not decode: ${error.message}`);
  }
  if (write === undefined) throw new MalformedEntryError(`unrecognized task code ${taskCode}`);
  if (reader.remaining !== 0) throw new MalformedEntryError(`raw message of ${taskCode} has ${reader.remaining} bytes after the request`);
  return write;
}

function timestampProblem(entry: DuplicateEntry): string | undefined {
  const timestamp = entry.timestamp;
  if (timestamp === undefined) return 'entry has no timestamp';
  if (timestamp < 0n || timestamp > TIMESTAMP_US_MAX) return `timestamp ${timestamp} is not a timetag's microseconds`;
  return undefined;
}

/**
 * Why a follower refuses a DUPLICATE request as a whole, or undefined when it may be applied:
 * an entry of a cluster `refusalOfClusterId` refuses (Pegasus's hints), or one that is malformed.
 */
export function duplicateRequestRefusal(request: DuplicateRequest, refusalOfClusterId: (id: number) => string | undefined): string | undefined {
  for (const entry of request.entries) {
    const refusal = refusalOfClusterId(entry.clusterId ?? 0) ?? timestampProblem(entry);
    if (refusal !== undefined) return refusal;
    try {
      decodeRawMessage(entry.taskCode, entry.rawMessage);
    } catch (error) {
      if (error instanceof MalformedEntryError) return error.hint;
      throw error;
    }
  }
  return undefined;
}
