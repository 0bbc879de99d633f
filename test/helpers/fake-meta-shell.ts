// A shell session whose meta answers from a table of canned replies, for the shell command tests:
// it records every call it was sent and captures what each line printed.
import { createShellSession, type MetaCaller, type MetaReply } from '../../src/cli/shell/index.ts';
import type { CallDefinition } from '../../src/wire/index.ts';

export type Answer = (args: any) => MetaReply<any>;

/** `answers` by RPC name (anything else: ERR_HANDLER_NOT_FOUND); `input`: lines a command reads after its own. */
export function shellWith(answers: Record<string, Answer>, input: string[] = []) {
  const calls: Array<{ name: string; args: any }> = [];
  const meta: MetaCaller = {
    async call<A, R extends { err: string }>(rpc: CallDefinition<A, R>, args: A): Promise<MetaReply<R>> {
      calls.push({ name: rpc.name, args });
      const answer = answers[rpc.name];
      return answer ? answer(args) : { err: 'ERR_HANDLER_NOT_FOUND', response: undefined };
    },
    async close() {},
  };
  let out = '';
  let err = '';
  const shell = createShellSession(meta, { out: (text) => (out += text), err: (text) => (err += text) }, {
    sleep: async () => {}, readyPollMs: 1, readyWaitMs: 1, version: 'test', readLine: async () => input.shift(),
  });
  return {
    calls,
    async run(line: string) {
      out = '';
      err = '';
      const result = await shell.runLine(line);
      return { result, out, err };
    },
  };
}
