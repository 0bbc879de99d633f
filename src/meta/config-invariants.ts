// What a partition configuration and a change of one must be, asserted on both sides of each
// boundary a change crosses: where the guardian reads configurations and hands out changes, and
// where the meta writes a change and applies it. These catch bugs: no request or report of a
// replica server can make them fail (the meta checks those and answers with an error).
import { assert } from '../base/index.ts';
import { gpidText, isMember, sameMembership, type ConfigType, type PartitionConfiguration } from '../cluster/model.ts';

/** A primary that is not also a secondary, no secondary twice, no empty address. */
export function assertMembershipWellFormed(config: PartitionConfiguration, where: string): void {
  const partition = gpidText(config.gpid);
  assert(!config.secondaries.includes(''), `${where}: ${partition} has a secondary without an address`);
  assert(config.primary === '' || !config.secondaries.includes(config.primary), `${where}: the primary of ${partition}, ${config.primary}, is also its secondary`);
  assert(new Set(config.secondaries).size === config.secondaries.length, `${where}: ${partition} lists a secondary twice (${config.secondaries.join(',')})`);
}

/**
 * `next` is the change `type` of `node` applied to `current`: the same partition at the next
 * ballot, with no committed decree forgotten, a well-formed membership, and the members the
 * change names where it puts them.
 */
export function assertConfigurationChange(
  current: PartitionConfiguration, next: PartitionConfiguration, type: ConfigType, node: string, where: string,
): void {
  const partition = gpidText(current.gpid);
  assert(gpidText(next.gpid) === partition, `${where}: a change of ${partition} carries the configuration of ${gpidText(next.gpid)}`);
  assert(next.ballot === current.ballot + 1, `${where}: the ballot of ${partition} goes ${current.ballot} → ${next.ballot}`);
  assert(
    next.lastCommittedDecree >= current.lastCommittedDecree,
    `${where}: the committed decree of ${partition} goes back ${current.lastCommittedDecree} → ${next.lastCommittedDecree}`,
  );
  assert(next.maxReplicaCount === current.maxReplicaCount, `${where}: ${type} changes the replica count of ${partition}`);
  assertMembershipWellFormed(next, where);
  const what = `${where}: ${type} of ${node || "''"} on ${partition}`;
  switch (type) {
    case 'CT_ASSIGN_PRIMARY':
    case 'CT_UPGRADE_TO_PRIMARY':
      assert(current.primary === '' && next.primary === node, `${what} leaves primary ${next.primary || "''"}`);
      break;
    case 'CT_ADD_SECONDARY':
    case 'CT_ADD_SECONDARY_FOR_LB':
    case 'CT_UPGRADE_TO_SECONDARY':
      assert(!isMember(current, node) && next.secondaries.includes(node) && next.primary === current.primary, `${what} does not add a secondary`);
      break;
    case 'CT_DOWNGRADE_TO_SECONDARY':
      assert(current.primary === node && next.primary === '' && next.secondaries.includes(node), `${what} does not downgrade the primary`);
      break;
    case 'CT_DOWNGRADE_TO_INACTIVE':
    case 'CT_REMOVE':
      assert(isMember(current, node) && !isMember(next, node), `${what} does not remove a member`);
      break;
    case 'CT_PRIMARY_FORCE_UPDATE_BALLOT':
      assert(sameMembership(current, next), `${what} changes the members`);
      break;
    case 'CT_DROP_PARTITION':
      assert(next.primary === '' && next.secondaries.length === 0, `${what} keeps members`);
      break;
    case 'CT_INVALID':
    case 'CT_REGISTER_CHILD':
      assert(false, `${what}: not a change the meta makes`);
  }
}
