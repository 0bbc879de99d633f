// The admin HTTP call registry: one per process, exact-match lookup on the normalised path
// (a call registered as a prefix also serves the paths below it).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export interface AdminRequest {
  method: string;
  /** Normalised path without a leading slash: `""`, `version`, `meta/app`. */
  path: string;
  query: Map<string, string>;
  /** The query component as received, before decoding. */
  rawQuery: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
}

export interface AdminResponse {
  status: number;
  body: string | Buffer;
  /** Pegasus answers everything as text/plain; a few Pteron calls (console, downloads) differ. */
  contentType?: string;
  location?: string;
  headers?: Record<string, string>;
}

export type AdminHandler = (request: AdminRequest) => AdminResponse | Promise<AdminResponse>;

export interface HttpCall {
  /** Registered without a leading slash, as Pegasus does: `""`, `config`, `pprof/heap`. */
  path: string;
  /** Shown before the description in the help listing, e.g. `name=<config_name>`. */
  parameters?: string;
  description: string;
  /** Accepted methods; Pegasus's calls take GET and POST alike. */
  methods?: readonly string[];
  /** Also serves every path below this one (`api/download` serves `api/download/x.pb.gz`). */
  prefix?: boolean;
  handler: AdminHandler;
}

export const DEFAULT_METHODS = ['GET', 'POST'] as const;

/** Takes over a connection asking for a protocol upgrade (e.g. a websocket) on its path. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export class HttpRouter {
  private readonly calls = new Map<string, HttpCall>();
  private readonly upgrades = new Map<string, UpgradeHandler>();

  register(call: HttpCall): void {
    if (this.calls.has(call.path)) throw new Error(`http call "/${call.path}" registered twice`);
    this.calls.set(call.path, call);
  }

  find(path: string): HttpCall | undefined {
    const exact = this.calls.get(path);
    if (exact) return exact;
    for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1)) {
      const call = this.calls.get(path.slice(0, end));
      if (call?.prefix) return call;
    }
    return undefined;
  }

  /** `path` is normalised like a call's: no leading slash. */
  registerUpgrade(path: string, handler: UpgradeHandler): void {
    if (this.upgrades.has(path)) throw new Error(`upgrade handler "/${path}" registered twice`);
    this.upgrades.set(path, handler);
  }

  findUpgrade(path: string): UpgradeHandler | undefined {
    return this.upgrades.get(path);
  }

  paths(): string[] {
    return [...this.calls.keys()];
  }

  /** `(/path, help)` rows in ascending byte order of the path, as `GET /` lists them. */
  helpRows(): Array<[string, string]> {
    return [...this.calls.values()]
      .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
      .map((call) => [`/${call.path}`, call.parameters ? `${call.parameters}. ${call.description}` : call.description]);
  }
}

export function text(status: number, body: string): AdminResponse {
  return { status, body };
}
