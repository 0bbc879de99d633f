// The admin calls every Pteron server answers (spec pegasus-http §3–§4.7, except /pprof/*).
import os from 'node:os';
import { formatLocalTime, PteronError, renderRowsCompactJson, renderTablesCompactJson, singleTable } from '../base/index.ts';
import { clusterName } from '../cluster/index.ts';
import { allFlags, findFlag, formatValue, setFlagFromText, tagsOf, type Flag } from '../config/index.ts';
import {
  metricRegistry, MetricsQueryError, parseMetricsQuery, PROMETHEUS_CONTENT_TYPE, renderMetricsError, renderMetricsJson,
  renderPrometheusScrape,
} from '../metrics/index.ts';
import type { AdminRequest, AdminResponse, HttpRouter } from '../net/index.ts';
import type { ServerIdentity } from './identity.ts';

const ok = (body: string): AdminResponse => ({ status: 200, body });

/** Wall-clock ns = this + hrtime: ns precision, and never going backwards between two queries. */
const epochNsAtHrtimeZero = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();

function flagRows(flag: Flag): Array<[string, string]> {
  return [
    ['name', flag.name],
    ['section', flag.section],
    ['type', flag.type],
    ['tags', tagsOf(flag)],
    ['description', flag.description],
    ['value', formatValue(flag)],
  ];
}

function wantsPrometheus(request: AdminRequest): boolean {
  const format = request.query.get('format');
  if (format !== undefined) return format === 'prometheus';
  const accept = request.headers.accept ?? '';
  return /version=0\.0\.4/.test(accept) || accept.includes('application/openmetrics-text');
}

export function registerBuiltinCalls(router: HttpRouter, identity: ServerIdentity): void {
  router.register({
    path: '',
    description: 'List all supported calls.',
    handler: () => ok(renderRowsCompactJson(router.helpRows())),
  });

  router.register({
    path: 'version',
    description: 'Get the server version.',
    handler: () => ok(renderRowsCompactJson([['Version', identity.version], ['GitCommit', identity.gitCommit]])),
  });

  router.register({
    path: 'recentStartTime',
    description: 'Get the server start time.',
    handler: () => ok(renderRowsCompactJson([['RecentStartTime', formatLocalTime(identity.startTime)]])),
  });

  router.register({
    path: 'config',
    parameters: 'name=<config_name>',
    description:
      'Gets the details of a specified config. Only the configs which are registered by DSN_DEFINE_xxx macro can be queried.',
    handler: ({ query }) => {
      for (const key of query.keys()) if (key !== 'name') return { status: 400, body: '' };
      const name = query.get('name') ?? '';
      if (name === '') return { status: 400, body: "name shouldn't be empty" };
      const flag = findFlag(name);
      if (!flag) return ok(`ERR_OBJECT_NOT_FOUND: '${name}' is not found`);
      return ok(renderRowsCompactJson(flagRows(flag)));
    },
  });

  router.register({
    path: 'configs',
    description: 'List all configs. Only the configs which are registered by DSN_DEFINE_xxx macro can be queried.',
    handler: ({ query }) => {
      if (query.size > 0) return { status: 400, body: '' };
      return ok(renderTablesCompactJson(allFlags().map((flag) => singleTable(flag.name, flagRows(flag)))));
    },
  });

  router.register({
    path: 'updateConfig',
    parameters: '<key>=<new_value>',
    description: 'Update the config to the new value.',
    handler: ({ query }) => {
      let status = 'ERR_OK';
      try {
        if (query.size !== 1) {
          throw new PteronError('ERR_INVALID_PARAMETERS', 'there should be exactly one config to be updated once');
        }
        const [[name, value]] = query;
        setFlagFromText(name, value);
      } catch (error) {
        if (!(error instanceof PteronError)) throw error;
        status = error.message;
      }
      return ok(renderRowsCompactJson([['update_status', status]]));
    },
  });

  router.register({
    path: 'metrics',
    description:
      '[with_metric_fields=field1,field2,...][&types=type1,type2,...][&ids=id1,id2,...][&attributes=attr1,value1,attr2,value2,...][&metrics=metric1,metric2,...][&detail=true|false]Query the node metrics.',
    handler: async (request) => {
      if (request.method !== 'GET') {
        return { status: 400, body: renderMetricsError("please use 'GET' method while querying for metrics") };
      }
      const prometheus = wantsPrometheus(request);
      const params = new Map(request.query);
      params.delete('format');
      try {
        const query = parseMetricsQuery(params);
        if (prometheus) {
          // The scraper's own `instance` label says the address; the port would repeat it.
          const common = { cluster: clusterName.value || 'unknown', role: identity.role };
          const body = await renderPrometheusScrape(common, metricRegistry.entities(), query);
          return { status: 200, body, contentType: PROMETHEUS_CONTENT_TYPE };
        }
        const header = {
          cluster: clusterName.value || 'unknown',
          role: identity.role,
          host: os.hostname() || 'unknown',
          port: identity.port,
          timestampNs: epochNsAtHrtimeZero + process.hrtime.bigint(),
        };
        return ok(renderMetricsJson(header, metricRegistry.entities(), query));
      } catch (error) {
        if (!(error instanceof MetricsQueryError)) throw error;
        return { status: 400, body: renderMetricsError(error.message) };
      }
    },
  });
}
