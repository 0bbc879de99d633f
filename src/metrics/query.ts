// Pegasus's /metrics query: filters, field selection, and the rapidjson-pretty output.
import { Counter, Gauge, Percentile, VolatileCounter, type Metric } from './metric.ts';
import type { MetricEntity } from './registry.ts';

export interface MetricsQuery {
  types: Set<string>;
  ids: Set<string>;
  /** OR of (name, value) pairs. */
  attributes: Array<[string, string]>;
  metrics: Set<string>;
  /** undefined: the brief set; otherwise exactly these fields. */
  fields: Set<string> | undefined;
}

export class MetricsQueryError extends Error {}

const BRIEF_FIELDS = new Set(['name', 'value', 'p50', 'p90', 'p95', 'p99', 'p999']);
const ALL_FIELDS = new Set(['type', 'name', 'unit', 'desc', 'value', 'p50', 'p90', 'p95', 'p99', 'p999']);

function splitCommaList(text: string): string[] {
  return text.split(',').map((item) => item.replace(/^[ \t]+/, '').replace(/[ \t\r\n]+$/, '')).filter((item) => item !== '');
}

/** Builds the query from decoded parameters; throws MetricsQueryError with Pegasus's messages. */
export function parseMetricsQuery(params: Map<string, string>): MetricsQuery {
  const query: MetricsQuery = { types: new Set(), ids: new Set(), attributes: [], metrics: new Set(), fields: undefined };
  let detail = false;
  let withFields: string[] | undefined;
  for (const [key, value] of params) {
    switch (key) {
      case 'with_metric_fields':
        withFields = splitCommaList(value);
        break;
      case 'types':
        query.types = new Set(splitCommaList(value));
        break;
      case 'ids':
        query.ids = new Set(splitCommaList(value));
        break;
      case 'attributes': {
        const items = splitCommaList(value);
        if (items.length % 2 !== 0) {
          throw new MetricsQueryError(
            'the number of arguments for attributes should be even, since each attribute name always pairs with a value',
          );
        }
        for (let index = 0; index < items.length; index += 2) query.attributes.push([items[index]!, items[index + 1]!]);
        break;
      }
      case 'metrics':
        query.metrics = new Set(splitCommaList(value));
        break;
      case 'detail': {
        const lower = value.toLowerCase();
        if (lower !== 'true' && lower !== 'false') {
          throw new MetricsQueryError('the value of detail should be a boolean value, i.e. true or false');
        }
        detail = lower === 'true';
        break;
      }
      default:
        throw new MetricsQueryError(`unknown field ${key}=${value}`);
    }
  }
  if (withFields !== undefined) query.fields = withFields.length === 0 ? ALL_FIELDS : new Set(withFields);
  else query.fields = detail ? ALL_FIELDS : undefined;
  return query;
}

export function entityMatches(entity: MetricEntity, query: MetricsQuery): boolean {
  if (query.types.size > 0 && !query.types.has(entity.type)) return false;
  if (query.ids.size > 0 && !query.ids.has(entity.id)) return false;
  if (query.attributes.length > 0 && !query.attributes.some(([name, value]) => entity.attributes[name] === value)) return false;
  return true;
}

/** One metric's selected fields, in Pegasus's emission order; reading a VolatileCounter resets it. */
export function metricFields(metric: Metric, fields: Set<string>): Array<[string, string | number, boolean]> {
  const prototype = metric.prototype;
  const out: Array<[string, string | number, boolean]> = [];
  if (fields.has('type')) out.push(['type', prototype.type, false]);
  if (fields.has('name')) out.push(['name', prototype.name, false]);
  if (fields.has('unit')) out.push(['unit', prototype.unit, false]);
  if (fields.has('desc')) out.push(['desc', prototype.desc, false]);
  if (metric instanceof Percentile) {
    for (const kind of metric.kinds) if (fields.has(kind)) out.push([kind, metric.get(kind) ?? 0, false]);
  } else if (fields.has('value')) {
    const value = metric instanceof VolatileCounter ? metric.take() : (metric as Counter | Gauge).value;
    out.push(['value', value, metric instanceof Gauge && prototype.isDouble === true]);
  }
  return out;
}

/**
 * rapidjson prints doubles shortest-round-trip with a fractional part always present (`0.0`,
 * `1.5`), and exponents without a plus sign (`1e21`, `1.5e-7`) from the same points as JS.
 */
function formatNumber(value: number, isDouble: boolean): string {
  if (!Number.isFinite(value)) return '0';
  if (!isDouble) {
    const integer = Math.trunc(value);
    // Safe integers print the same digits either way; BigInt is only needed past 2^53.
    return Number.isSafeInteger(integer) ? String(integer) : BigInt(integer).toString();
  }
  if (Object.is(value, -0)) return '-0.0';
  const text = String(value).replace('e+', 'e');
  return /[.e]/.test(text) ? text : `${text}.0`;
}

export interface MetricsHeader {
  cluster: string;
  role: string;
  host: string;
  port: number;
  timestampNs: bigint;
}

/** Characters JSON.stringify escapes: controls, quote, backslash, and (lone) surrogates. */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A JSON string as rapidjson writes it: JSON.stringify's escapes, but upper-case hex digits. */
function q(text: string): string {
  // Almost every name and id needs no escape at all: skip JSON.stringify and the rewrite.
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  // Escaped backslashes are matched first so that a literal "\\u0001" in the text is left alone.
  return JSON.stringify(text).replace(/\\\\|\\u(00[01][0-9a-f])/g, (escape: string, hex: string | undefined) =>
    hex === undefined ? escape : `\\u${hex.toUpperCase()}`,
  );
}

/** The success body, byte-for-byte in rapidjson PrettyWriter's layout, without a trailing newline. */
export function renderMetricsJson(header: MetricsHeader, entities: Iterable<MetricEntity>, query: MetricsQuery): string {
  const fields = query.fields ?? BRIEF_FIELDS;
  const entityTexts: string[] = [];
  for (const entity of entities) {
    if (!entityMatches(entity, query)) continue;
    const metricTexts: string[] = [];
    for (const metric of entity.metrics.values()) {
      if (query.metrics.size > 0 && !query.metrics.has(metric.prototype.name)) continue;
      const members = metricFields(metric, fields).map(
        ([name, value, isDouble]) => `                    ${q(name)}: ${typeof value === 'string' ? q(value) : formatNumber(value, isDouble)}`,
      );
      metricTexts.push(members.length === 0 ? '                {}' : `                {\n${members.join(',\n')}\n                }`);
    }
    if (metricTexts.length === 0) continue;
    const attributeNames = Object.keys(entity.attributes);
    const attributes =
      attributeNames.length === 0
        ? '{}'
        : `{\n${attributeNames.map((name) => `                ${q(name)}: ${q(entity.attributes[name])}`).join(',\n')}\n            }`;
    entityTexts.push(
      `        {\n            "type": ${q(entity.type)},\n            "id": ${q(entity.id)},\n            "attributes": ${attributes},\n` +
        `            "metrics": [\n${metricTexts.join(',\n')}\n            ]\n        }`,
    );
  }
  const entitiesText = entityTexts.length === 0 ? '[]' : `[\n${entityTexts.join(',\n')}\n    ]`;
  return (
    `{\n    "cluster": ${q(header.cluster)},\n    "role": ${q(header.role)},\n    "host": ${q(header.host)},\n` +
    `    "port": ${header.port},\n    "timestamp_ns": ${header.timestampNs},\n    "entities": ${entitiesText}\n}`
  );
}

export function renderMetricsError(message: string): string {
  return `{\n    "error_message": ${q(message)}\n}`;
}
