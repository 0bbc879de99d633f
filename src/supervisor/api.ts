// pmesh's session-state API on the supervisor's port: /repo, /repo/update, /reload, /service,
// /service/{restart,stop,health,metrics,info}[/SVC], /session (and /ping, /shutdown).
//
// Every request on the port, the Pegasus admin calls included, first passes the gate: the
// client's session is counted (and blocked when over the rate limit), then a client that is
// not local must present the secret. The router matches exact paths only, so the gate also
// resolves `/service/<op>/<svc>` and answers unknown paths with pmesh's JSON 404 page.
import os from 'node:os';
import type { AdminRequest, AdminResponse, HttpCall, HttpRouter } from '../net/index.ts';
import { decideAccess, isLocal, originAddress } from './access.ts';
import { ApiError, errorAnswer, errorPage, jsonAnswer, parseInvalidate, rayId, sortedObject } from './api-format.ts';
import { repoInfo } from './git.ts';
import type { ServiceHealth } from './service.ts';
import { UNKNOWN_SERVICE_METRICS } from './service-metrics.ts';
import type { ClientSessions } from './sessions.ts';
import type { Supervisor } from './supervisor.ts';

export interface ApiOptions {
  supervisor: Supervisor;
  sessions: ClientSessions;
  /** `/shutdown`: stop everything and exit, shortly after answering. */
  requestShutdown: () => void;
}

type Params = { invalidate: boolean };
type Handler = (params: Params, service: string | undefined) => Promise<unknown> | unknown;

interface Route {
  path: string;
  description: string;
  /** Whether the call reads `invalidate` (others ignore the query and the body). */
  takesInvalidate: boolean;
  handler: Handler;
}

/** pmesh's session-state paths take any method. */
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const UNKNOWN_HEALTH: ServiceHealth = Object.freeze({ status: 'unknown', healthy: 0, total: 0 });
const PER_SERVICE = /^service\/(restart|stop|health|metrics|info)\/([^/]+)$/;
/**
 * The admin server keeps per-path call metrics for every path it answers, so the distinct paths
 * answered here beyond the registered ones are bounded; past the bound, the router's own 404.
 */
const RESOLVED_PATHS_MAX = 1024;

function routes(options: ApiOptions): Route[] {
  const { supervisor, sessions } = options;
  const healthOf = (name: string): ServiceHealth => supervisor.find(name)?.health() ?? UNKNOWN_HEALTH;
  const metricsMap = async (): Promise<Record<string, unknown>> => {
    const known = supervisor.knownServices();
    const metrics = await supervisor.metrics(known);
    return sortedObject(metrics);
  };
  const metricsOne = async (_params: Params, name: string | undefined): Promise<unknown> => {
    const service = supervisor.find(name!);
    if (!service) return UNKNOWN_SERVICE_METRICS;
    return (await supervisor.metrics([service])).get(service.name);
  };
  return [
    {
      path: 'repo', description: 'The git checkout: branch, hash, author and message of HEAD and of the remote branch; the remote URL.',
      takesInvalidate: false, handler: async () => {
        try {
          return await repoInfo(supervisor.manifest.root);
        } catch (error) {
          throw new ApiError((error as Error).message);
        }
      },
    },
    {
      path: 'repo/update', description: '[invalidate] Fetch, build the remote branch\'s commit, move to it, restart every service. {from, to}.',
      takesInvalidate: true, handler: ({ invalidate }) => supervisor.updateRepo(invalidate),
    },
    {
      path: 'reload', description: '[invalidate] Read the manifest again and restart every service in it.',
      takesInvalidate: true, handler: async ({ invalidate }) => {
        await supervisor.reload(invalidate);
        return undefined;
      },
    },
    {
      path: 'service', description: 'Every service and the id of its current run.',
      takesInvalidate: false, handler: () => sortedObject(supervisor.knownServices().map((service) => [service.name, service.id ?? null])),
    },
    {
      path: 'service/restart', description: '[invalidate] Restart every service (replica servers one at a time). /service/restart/<svc>: one service.',
      takesInvalidate: true, handler: async ({ invalidate }, name) => ({ count: await supervisor.restart(name, invalidate) }),
    },
    {
      path: 'service/stop', description: 'Stop every service. /service/stop/<svc>: one service.',
      takesInvalidate: false, handler: async (_params, name) => ({ count: await supervisor.stop(name) }),
    },
    {
      path: 'service/health', description: 'Health of every service: status, healthy, total, err. /service/health/<svc>: one service.',
      takesInvalidate: false,
      handler: (_params, name) => (name === undefined ? sortedObject(supervisor.knownServices().map((service) => [service.name, service.health()])) : healthOf(name)),
    },
    {
      path: 'service/metrics', description: 'Processes (pid, CPU, memory, uptime, restarts, request counters) and health of every service. /service/metrics/<svc>: one.',
      takesInvalidate: false, handler: (params, name) => (name === undefined ? metricsMap() : metricsOne(params, name)),
    },
    {
      path: 'service/info', description: 'The same as /service/metrics (pmesh\'s older name).',
      takesInvalidate: false, handler: (params, name) => (name === undefined ? metricsMap() : metricsOne(params, name)),
    },
    {
      path: 'session', description: 'Clients of this port: requests, average requests/s, first seen, blocked until.',
      takesInvalidate: false, handler: () => sessions.view(),
    },
    {
      path: 'ping', description: 'This machine\'s host name.',
      takesInvalidate: false, handler: () => os.hostname(),
    },
    {
      path: 'shutdown', description: 'Stop every service and the supervisor.',
      takesInvalidate: false, handler: () => {
        options.requestShutdown();
        return undefined;
      },
    },
  ];
}

async function answer(route: Route, request: AdminRequest, service: string | undefined, ray: string): Promise<AdminResponse> {
  const pretty = request.query.has('pretty');
  try {
    const params = route.takesInvalidate ? parseInvalidate(request) : { invalidate: false };
    return jsonAnswer(await route.handler(params, service), pretty, ray);
  } catch (error) {
    if (error instanceof ApiError) return errorAnswer(error.message, ray);
    throw error;
  }
}

export function installSupervisorApi(router: HttpRouter, options: ApiOptions): void {
  const byPath = new Map<string, Route>();
  for (const route of routes(options)) {
    if (router.find(route.path)) continue;
    byPath.set(route.path, route);
    router.register({
      path: route.path,
      description: route.description,
      methods: ALL_METHODS,
      handler: (request) => answer(route, request, undefined, rayId()),
    });
  }

  const { supervisor, sessions } = options;
  /** Session count, rate limit and access, before any call runs. */
  const gate = (request: AdminRequest, ray: string): AdminResponse | undefined => {
    const origin = originAddress(request.remoteAddress, request.headers);
    const local = isLocal(origin);
    sessions.setRateLimit(supervisor.manifest.supervisor.rateLimit);
    const verdict = sessions.track(origin, local);
    if (verdict === 'blocked') return errorPage(403, request, ray);
    if (verdict === 'limited') return errorPage(429, request, ray);
    if (!decideAccess(origin, request.headers, supervisor.manifest.supervisor.secret).allowed) return errorPage(403, request, ray);
    return undefined;
  };
  const guarded = (call: HttpCall): HttpCall => ({
    ...call,
    handler: (request) => {
      const refusal = gate(request, rayId());
      return refusal ?? call.handler(request);
    },
  });
  const notFound: HttpCall = guarded({
    path: '', description: 'not found', methods: ALL_METHODS,
    handler: (request) => errorPage(404, request, rayId()),
  });

  const exactFind = router.find.bind(router);
  const guardedByPath = new Map<string, HttpCall>();
  const resolvedPaths = new Set<string>();
  router.find = (path: string): HttpCall | undefined => {
    const exact = exactFind(path);
    if (exact) {
      let call = guardedByPath.get(path);
      if (!call) {
        call = guarded(exact);
        guardedByPath.set(path, call);
      }
      return call;
    }
    if (!resolvedPaths.has(path)) {
      if (resolvedPaths.size >= RESOLVED_PATHS_MAX) return undefined;
      resolvedPaths.add(path);
    }
    const perService = PER_SERVICE.exec(path);
    if (perService) {
      const route = byPath.get(`service/${perService[1]}`)!;
      const name = perService[2]!;
      return guarded({ path, description: route.description, methods: ALL_METHODS, handler: (request) => answer(route, request, name, rayId()) });
    }
    return notFound;
  };
}
