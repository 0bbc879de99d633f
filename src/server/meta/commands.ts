// The meta's cluster commands in the /api command sessions: `ls`, `app`, `nodes`, `cluster_info`,
// printed as `pteron shell` prints them, from the meta's own state instead of RPCs.
import type { HttpRouter } from '../../net/index.ts';
import { appInfoToWire, formatAppDetail, formatAppList, formatClusterInfo, formatNodeList, partitionConfigurationToWire, toHostPort } from '../../cluster/index.ts';
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

/** The meta's own remote commands: `meta.live_percentage` and `meta.list_nodes`. */
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
  ];
}
