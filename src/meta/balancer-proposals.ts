// Balance operations an operator proposes (`RPC_CM_PROPOSE_BALANCER`, the shell's `balance` and
// `propose`; spec pegasus-arch §2.9). Checked as Pegasus checks them: the table must exist
// (ERR_APP_NOT_EXIST) and be available, the partition must be one of it, no operation may be
// under way on it, and an action without a target needs a primary to send it to
// (ERR_INVALID_PARAMETERS). A proposal that passes is queued like a balancer round's operation
// and the guardian proposes its steps one by one. With `force` every action goes straight to its
// target, unchecked.
//
// Pegasus queues a proposal whose steps do not fit the partition, answers ERR_OK and drops the
// steps when the guardian reaches them (a node that is not a member, not alive, a change that
// cannot be made). Here the same rule runs at once, on each step against the configuration the
// steps before it leave, so the operator gets ERR_INVALID_PARAMETERS instead of a silent drop.
import { log, type ErrorName } from '../base/index.ts';
import { applyConfigChange, clonePartitionConfiguration, gpidText, type ConfigType, type Gpid, type PartitionConfiguration } from '../cluster/model.ts';
import { balancerStepIsValid, type BalancerStep } from './balancer.ts';
import type { GuardianAction, GuardianProposal } from './guardian.ts';
import type { MetaTables } from './tables.ts';

/** One action of a proposal; `target` '' lets the meta send it to the partition's primary. */
export interface ProposedAction {
  type: ConfigType;
  target: string;
  node: string;
}

export interface BalancerProposalRequest {
  gpid: Gpid;
  actions: readonly ProposedAction[];
  force: boolean;
}

/** What the proposals need from the rest of the meta. */
export interface BalancerProposalsContext {
  readonly tables: MetaTables;
  aliveNodes(): Set<string>;
  /** Queues an operation's steps on the partition; false when one is under way there already. */
  queueSteps(gpid: Gpid, steps: readonly BalancerStep[]): boolean;
  sendProposal(proposal: GuardianProposal): void;
  /** Runs the guardian on these partitions (it proposes the first queued step). */
  cure(gpids: readonly Gpid[]): Promise<GuardianAction[]>;
}

/**
 * Why the steps cannot be carried out one after the other from `config`, or undefined when they
 * can (each one must pass the guardian's check on the configuration the previous ones lead to).
 */
export function unfitStep(config: PartitionConfiguration, steps: readonly BalancerStep[], aliveNodes: ReadonlySet<string>): string | undefined {
  let current = config;
  for (const [index, step] of steps.entries()) {
    const which = `action ${index + 1} (${step.type} target ${step.target || '-'} node ${step.node || '-'})`;
    if (!aliveNodes.has(step.target)) return `${which}: the target is not an alive replica server`;
    if (!aliveNodes.has(step.node)) return `${which}: the node is not an alive replica server`;
    const next = balancerStepIsValid(current, step, aliveNodes) ? applyConfigChange(current, step.type, step.node) : undefined;
    if (!next) return `${which}: does not fit the partition (primary ${current.primary || '-'}, secondaries ${current.secondaries.join(',') || '-'})`;
    current = next;
  }
  return undefined;
}

/** Each method assumes its caller holds the serial queue. */
export class BalancerProposals {
  constructor(private readonly context: BalancerProposalsContext) {}

  async propose(request: BalancerProposalRequest): Promise<{ err: ErrorName; hintMessage: string }> {
    const refuse = (err: ErrorName, hintMessage: string): { err: ErrorName; hintMessage: string } => {
      log.warn({ gpid: gpidText(request.gpid), err, reason: hintMessage }, 'balancer proposal refused');
      return { err, hintMessage };
    };
    const { tables } = this.context;
    const { appId, partitionIndex } = request.gpid;
    const app = tables.appsById.get(appId);
    if (!app) return refuse('ERR_APP_NOT_EXIST', `no table has id ${appId}`);
    const config = tables.partitions.get(appId)?.[partitionIndex];
    if (app.status !== 'AS_AVAILABLE') return refuse('ERR_INVALID_PARAMETERS', `table ${app.appName} is not available`);
    if (!config) return refuse('ERR_INVALID_PARAMETERS', `table ${app.appName} has no partition ${partitionIndex}`);

    if (request.force) {
      for (const action of request.actions) {
        const expected = applyConfigChange(config, action.type, action.node) ?? clonePartitionConfiguration(config);
        this.context.sendProposal({ kind: 'proposal', gpid: { ...config.gpid }, type: action.type, target: action.target, node: action.node, config: clonePartitionConfiguration(config), expected });
      }
      log.info({ gpid: gpidText(config.gpid), actions: request.actions.length }, 'forced proposals sent');
      return { err: 'ERR_OK', hintMessage: '' };
    }

    if (request.actions.length === 0) return refuse('ERR_INVALID_PARAMETERS', 'the proposal has no action');
    if (request.actions.some((action) => action.target === '') && config.primary === '') {
      return refuse('ERR_INVALID_PARAMETERS', 'an action has no target and the partition has no primary to send it to');
    }
    const steps = request.actions.map((action) => ({ type: action.type, target: action.target === '' ? config.primary : action.target, node: action.node }));
    const unfit = unfitStep(config, steps, this.context.aliveNodes());
    if (unfit !== undefined) return refuse('ERR_INVALID_PARAMETERS', unfit);
    if (!this.context.queueSteps(config.gpid, steps)) return refuse('ERR_INVALID_PARAMETERS', 'a balance operation is under way on the partition');
    log.info({ gpid: gpidText(config.gpid), steps }, 'balancer proposal queued');
    await this.context.cure([config.gpid]);
    return { err: 'ERR_OK', hintMessage: '' };
  }
}
