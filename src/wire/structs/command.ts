// Remote commands (idl/command.thrift): `RPC_CLI_CLI_CALL` takes a `command` and answers with a
// plain string — the result struct's field 0 is of type STRING, not a struct.
import { defineStruct, listOf, stringType, type StructType } from './types.ts';

export interface Command {
  cmd: string;
  arguments: string[];
}
export const commandCodec: StructType<Command> = defineStruct<Command>('command', [
  { id: 1, name: 'cmd', type: stringType },
  { id: 2, name: 'arguments', type: listOf(stringType) },
]);
