// The meta's cluster commands in the /api command sessions: `ls`, `app`, `nodes`, `cluster_info`,
// printed as `pteron shell` prints them, from the meta's own state instead of RPCs; and the
// meta's remote commands, with the balancer's `meta.lb.*` controls.
import { formatHostPort, log, parseHostPort, PteronError } from '../../base/index.ts';
import { setFlagFromText, type Flag } from '../../config/index.ts';
import type { HttpRouter } from '../../net/index.ts';
import { appInfoToWire, formatAppDetail, formatAppList, formatClusterInfo, formatNodeList, partitionConfigurationToWire, toHostPort } from '../../cluster/index.ts';
import {
  addSecondaryEnableFlowControl, addSecondaryMaxCountForOneNode, balancerInTurn, onlyMovePrimary, onlyPrimaryBalancer,
  replicaAssignDelayMsForDropouts,
} from '../../meta/flags.ts';
import type { MetaServerState } from '../../meta/server-state.ts';
import { AppStatus, NodeStatus, type PartitionConfiguration } from '../../wire/structs/index.ts';
import { commandApiOf } from '../../diag/api.ts';
import { STATUS_ERROR } from '../../diag/results.ts';
import type { JobOutcome } from '../../diag/job.ts';
import { RemoteCommandArgumentError, type RemoteCommandSpec } from '../../diag/remote/registry.ts';

export interface MetaCommandDeps {
  /** The meta state; throws when this meta is not the primary. */
  state(): MetaServerState;
  /** The rows of `cluster_info`. */
  clusterInfo(): Array<[string, string]>;
}

const APP_STATUS_NAMES: Record<string, AppStatus> = {
  all: AppStatus.AS_INVALID,
  available: AppStatus.AS_AVAILABLE,
  creating: AppStatus.AS_CREATING,
  dropping: AppStatus.AS_DROPPING,
  dropped: AppStatus.AS_DROPPED,
};

const NODE_STATUS_NAMES: Record<string, NodeStatus> = {
  all: NodeStatus.NS_INVALID,
  alive: NodeStatus.NS_ALIVE,
  unalive: NodeStatus.NS_UNALIVE,
};

/** What `read` gives, or the error outcome its throw becomes (a backup meta has no state to show). */
function attempt<T>(read: () => T): { value: T } | { outcome: JobOutcome } {
  try {
    return { value: read() };
  } catch (error) {
    return { outcome: { statusCode: STATUS_ERROR, message: (error as Error).message } };
  }
}

function partitionsOf(state: MetaServerState, appId: number): PartitionConfiguration[] {
  return state.partitionsOf(appId).map(partitionConfigurationToWire);
}

export function registerMetaCommands(router: HttpRouter, deps: MetaCommandDeps): void {
  const api = commandApiOf(router);
  if (!api) return;
  const json = { name: 'json', short: 'j', type: 'boolean', description: 'Print JSON' } as const;
  const detailed = { name: 'detailed', short: 'd', type: 'boolean', description: 'Add details' } as const;

  api.commands.register({
    name: 'ls',
    summary: 'List the tables, as the shell prints them',
    options: [
      { name: 'all', short: 'a', type: 'boolean', description: 'Include dropped tables' },
      detailed,
      json,
      { name: 'status', short: 's', type: 'string', description: 'all|available|creating|dropping|dropped' },
    ],
    examples: ['ls', 'ls -d', 'ls -a'],
    run({ append, args }) {
      const got = attempt(() => deps.state());
      if ('outcome' in got) return got.outcome;
      const state = got.value;
      const statusText = args.text('status');
      let status = args.flag('all') ? AppStatus.AS_INVALID : AppStatus.AS_AVAILABLE;
      if (statusText !== undefined) {
        const chosen = APP_STATUS_NAMES[statusText];
        if (chosen === undefined) return { statusCode: STATUS_ERROR, message: `ls: unknown table status "${statusText}"` };
        status = chosen;
      }
      const apps = state.listAllApps().map(appInfoToWire).filter((app) => status === AppStatus.AS_INVALID || app.status === status);
      const partitionsByAppId = new Map<number, PartitionConfiguration[]>();
      if (args.flag('detailed')) {
        for (const app of apps) if (app.status === AppStatus.AS_AVAILABLE) partitionsByAppId.set(app.appId, partitionsOf(state, app.appId));
      }
      const text = formatAppList(apps, { detailed: args.flag('detailed'), json: args.flag('json'), partitionsByAppId });
      append({ type: 'shell', command: 'ls', result: text });
    },
  });

  api.commands.register({
    name: 'app',
    summary: "Show one table's partitions, as the shell prints them",
    options: [detailed, json],
    arguments: [{ name: 'app_name', type: 'string', required: true, description: 'The table' }],
    examples: ['app temp', 'app temp -d'],
    run({ append, args }) {
      const got = attempt(() => deps.state());
      if ('outcome' in got) return got.outcome;
      const state = got.value;
      const appName = args.argumentText('app_name') ?? '';
      const result = state.queryConfiguration(appName);
      if (result.err !== 'ERR_OK') return { statusCode: STATUS_ERROR, message: `query app ${appName} failed, error=${result.err}` };
      const response = {
        err: result.err,
        appId: result.appId,
        partitionCount: result.partitionCount,
        isStateful: result.isStateful,
        partitions: result.partitions.map(partitionConfigurationToWire),
      };
      const text = formatAppDetail(appName, response, { detailed: args.flag('detailed'), json: args.flag('json') });
      append({ type: 'shell', command: 'app', result: text });
    },
  });

  api.commands.register({
    name: 'nodes',
    summary: 'List the replica servers, as the shell prints them',
    options: [detailed, json, { name: 'status', short: 's', type: 'string', description: 'all|alive|unalive' }],
    examples: ['nodes', 'nodes -d'],
    run({ append, args }) {
      const got = attempt(() => deps.state());
      if ('outcome' in got) return got.outcome;
      const state = got.value;
      const statusText = args.text('status') ?? '';
      let status = NodeStatus.NS_INVALID;
      if (statusText !== '') {
        const chosen = NODE_STATUS_NAMES[statusText];
        if (chosen === undefined) return { statusCode: STATUS_ERROR, message: `nodes: unknown node status "${statusText}"` };
        status = chosen;
      }
      const infos = state
        .listNodes()
        .map((node) => ({ status: node.status === 'ALIVE' ? NodeStatus.NS_ALIVE : NodeStatus.NS_UNALIVE, node: toHostPort(node.address), hpNode: toHostPort(node.address) }))
        .filter((node) => status === NodeStatus.NS_INVALID || node.status === status);
      const partitions: PartitionConfiguration[] = [];
      if (args.flag('detailed')) {
        for (const app of state.listAllApps()) if (app.status === 'AS_AVAILABLE') partitions.push(...partitionsOf(state, app.appId));
      }
      const text = formatNodeList(infos, { detailed: args.flag('detailed'), json: args.flag('json'), status: statusText, partitions });
      append({ type: 'shell', command: 'nodes', result: text });
    },
  });

  api.commands.register({
    name: 'cluster_info',
    summary: 'Show the cluster facts, as the shell prints them',
    options: [json],
    run({ append, args }) {
      // A backup meta answers with the state's error before anything is read.
      const primary = attempt(() => deps.state());
      if ('outcome' in primary) return primary.outcome;
      const info = attempt(() => deps.clusterInfo());
      if ('outcome' in info) return info.outcome;
      const rows = info.value;
      const text = formatClusterInfo({ err: 'ERR_OK', keys: rows.map(([key]) => key), values: rows.map(([, value]) => value) }, args.flag('json'));
      append({ type: 'shell', command: 'cluster_info', result: text });
    },
  });
}

/** Pegasus prints its remote commands' JSON answers with two-space indents and sorted keys. */
function jsonAnswer(fields: Record<string, string | number>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), null, 2);
}

/**
 * A boolean control over a mutable flag, answered as Pegasus's bool commands answer: no argument
 * shows it, `true` or `false` (any case) sets it.
 */
function boolFlagCommand(name: string, flag: Flag<boolean>, help: string): RemoteCommandSpec {
  return {
    names: [name],
    help,
    usage: '<true|false>',
    handler(args) {
      if (args.length === 0) return jsonAnswer({ error: 'ok', [name]: flag.value ? 'true' : 'false' });
      if (args.length > 1) return jsonAnswer({ error: 'ERR: invalid arguments, only one boolean argument is acceptable' });
      const text = args[0]!.toLowerCase();
      if (text !== 'true' && text !== 'false') return jsonAnswer({ error: `ERR: invalid arguments, '${args[0]}' is not a boolean` });
      setFlagFromText(flag.name, text);
      log.info({ command: name, value: text }, 'set by remote command');
      return jsonAnswer({ error: 'ok' });
    },
  };
}

/**
 * An integer control over a mutable flag, as Pegasus's int commands: no argument shows it, a
 * number of at least 0 (that the flag accepts) sets it, `DEFAULT` restores the value the server
 * started with.
 */
function intFlagCommand(name: string, flag: Flag<number>, help: string): RemoteCommandSpec {
  const startValue = flag.value;
  return {
    names: [name],
    help,
    usage: '[num | DEFAULT]',
    handler(args) {
      if (args.length === 0) return jsonAnswer({ error: 'ok', [name]: String(flag.value) });
      if (args.length > 1) return jsonAnswer({ error: `ERR: invalid arguments '${args.join(' ')}', only one argument is acceptable` });
      const text = args[0]!;
      if (text.toUpperCase() === 'DEFAULT') {
        setFlagFromText(flag.name, String(startValue));
        return jsonAnswer({ error: 'ok', [name]: startValue });
      }
      const notAcceptable = jsonAnswer({ error: `ERR: invalid argument '${text}', the value is not acceptable` });
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) return notAcceptable;
      try {
        setFlagFromText(flag.name, text);
      } catch (error) {
        if (error instanceof PteronError) return notAcceptable;
        throw error;
      }
      log.info({ command: name, value: text }, 'set by remote command');
      return jsonAnswer({ error: 'ok' });
    },
  };
}

/** The balancer's and guardian's controls, as Pegasus 2.6's meta registers them. */
function balancerRemoteCommands(deps: MetaCommandDeps): RemoteCommandSpec[] {
  return [
    boolFlagCommand('meta.lb.balancer_in_turn', balancerInTurn, 'control whether do app balancer in turn'),
    boolFlagCommand('meta.lb.only_primary_balancer', onlyPrimaryBalancer, 'control whether do only primary balancer'),
    boolFlagCommand('meta.lb.only_move_primary', onlyMovePrimary, 'control whether only move primary in balancer'),
    boolFlagCommand('meta.lb.add_secondary_enable_flow_control', addSecondaryEnableFlowControl, 'control whether enable add secondary flow control'),
    intFlagCommand('meta.lb.add_secondary_max_count_for_one_node', addSecondaryMaxCountForOneNode, 'control the max count to add secondary for one node'),
    intFlagCommand('meta.lb.assign_delay_ms', replicaAssignDelayMsForDropouts, 'control the replica_assign_delay_ms_for_dropouts config'),
    {
      names: ['meta.lb.get_balance_operation_count'],
      help: 'Get balance operation count',
      usage: '[total | move_pri | copy_pri | copy_sec | detail]',
      handler(args) {
        const count = deps.state().balanceOperationCount();
        const which = args[0] ?? 'total';
        if (args.length > 1) return jsonAnswer({ error: 'invalid arguments' });
        if (which === 'detail') return jsonAnswer({ ...count });
        if (which === 'total' || which === 'move_pri' || which === 'copy_pri' || which === 'copy_sec') return jsonAnswer({ [which]: count[which] });
        return jsonAnswer({ error: 'invalid arguments' });
      },
    },
    {
      names: ['meta.lb.ignored_app_list'],
      help: 'Get, set or clear balancer ignored_app_list',
      usage: '<get|set|clear> [set_app_id1,set_app_id2,...]',
      handler(args) {
        const state = deps.state();
        switch (args[0]) {
          case 'get':
            return jsonAnswer({ ignored_app_id_list: state.balancerIgnoredApps().join(',') });
          case 'clear':
            state.setBalancerIgnoredApps([]);
            return jsonAnswer({ error: 'ok' });
          case 'set': {
            const ids = args.length === 2 ? args[1]!.split(',').map((id) => id.trim()).filter((id) => id !== '') : [];
            if (ids.length === 0 || !ids.every((id) => /^-?\d+$/.test(id) && Number(id) >= -(2 ** 31) && Number(id) < 2 ** 31)) {
              return jsonAnswer({ error: 'invalid argument' });
            }
            state.setBalancerIgnoredApps(ids.map(Number));
            return jsonAnswer({ error: 'ok' });
          }
          default:
            return jsonAnswer({ error: 'invalid arguments' });
        }
      },
    },
    {
      names: ['meta.lb.assign_secondary_black_list'],
      help: 'Control the assign secondary black list',
      usage: '[host1:port,host2:port,...|clear]',
      handler(args) {
        const state = deps.state();
        if (args.length === 0) return jsonAnswer({ error: 'ok', assign_secondary_black_list: state.assignSecondaryBlackListNodes().join(',') });
        if (args.length !== 1) return jsonAnswer({ error: 'invalid argument, 0 or 1 argument is acceptable' });
        if (args[0] === 'clear') {
          state.setAssignSecondaryBlackList([]);
          return jsonAnswer({ error: 'ok' });
        }
        const texts = args[0]!.split(',').map((text) => text.trim()).filter((text) => text !== '');
        if (texts.length === 0) {
          return jsonAnswer({ error: "invalid argument, the argument should be in form of '<host:port,host:port,host:port>'" });
        }
        const nodes: string[] = [];
        for (const text of texts) {
          try {
            nodes.push(formatHostPort(parseHostPort(text)));
          } catch {
            return jsonAnswer({ error: `invalid argument, bad host:port '${text}'` });
          }
        }
        state.setAssignSecondaryBlackList(nodes);
        return jsonAnswer({ error: 'ok' });
      },
    },
  ];
}

/** The meta's own remote commands: `meta.live_percentage`, `meta.list_nodes` and the `meta.lb.*` controls. */
export function metaRemoteCommands(deps: MetaCommandDeps): RemoteCommandSpec[] {
  const noArgs = (name: string, args: readonly string[]): void => {
    if (args.length > 0) throw new RemoteCommandArgumentError(`${name} takes no arguments`);
  };
  return [
    {
      names: ['meta.live_percentage'],
      help: 'the percentage of replica servers alive',
      handler(args) {
        noArgs('meta.live_percentage', args);
        const nodes = deps.state().listNodes();
        const alive = nodes.filter((node) => node.status === 'ALIVE').length;
        return String(nodes.length === 0 ? 0 : Math.floor((alive * 100) / nodes.length));
      },
    },
    {
      names: ['meta.list_nodes'],
      help: 'the replica servers this meta knows, with their status',
      handler(args) {
        noArgs('meta.list_nodes', args);
        const nodes = deps.state().listNodes();
        return `${nodes.map((node) => `${node.address} ${node.status}`).join('\n')}${nodes.length > 0 ? '\n' : ''}total ${nodes.length}`;
      },
    },
    ...balancerRemoteCommands(deps),
  ];
}
