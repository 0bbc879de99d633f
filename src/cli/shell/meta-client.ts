// The shell's meta calls (client/meta-client.ts) and how it words a failed reply.
export { MetaClient, META_CLIENT_DEFAULTS, leaderHint, type MetaCaller, type MetaClientOptions, type MetaReply } from '../../client/meta-client.ts';
import type { MetaReply } from '../../client/meta-client.ts';

/** Why a reply failed, for the user: the meta's hint message, else the transport detail ('' for neither). */
export function replyHint(reply: MetaReply<unknown>): string {
  const hint = (reply.response as { hintMessage?: string } | undefined)?.hintMessage;
  return hint || reply.detail || '';
}

/** `ERR_X<separator>hint`, or the error name alone when there is no hint (Pegasus's error_s with ': '). */
export function replyError(reply: MetaReply<unknown>, separator = ': '): string {
  const hint = replyHint(reply);
  return hint === '' ? reply.err : `${reply.err}${separator}${hint}`;
}
