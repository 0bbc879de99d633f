// The keys Pegasus's geo client (src/geo/lib) indexes a record under, for `copy_data -g`: the
// record's value holds its latitude and longitude among '|'-separated fields; the geo table
// keeps a copy of the record keyed by the S2 cell containing that point: hash key the cell at
// `min_level` (`face/digits`), sort key the leaf cell's remaining digits, ':', then the
// record's own composite key. The S2 cell id is computed here (S2's face projection, quadratic
// UV→ST transform and Hilbert curve), as the S2 library does.
import { encodeCompositeKey } from '../../client/index.ts';

/** Pegasus's `[geo_client.lib]` defaults: the levels of the hash key and the value's lat/lng fields. */
export const GEO_DEFAULTS = Object.freeze({ minLevel: 12, latitudeIndex: 5, longitudeIndex: 4 });

/** The deepest S2 level (leaf cells). */
const MAX_LEVEL = 30;
const MAX_SIZE = 2 ** MAX_LEVEL;

/** S2's Hilbert curve tables: the child position of (i, j) bits per orientation, and the orientation change per position. */
const IJ_TO_POS = [
  [0, 1, 3, 2],
  [0, 3, 1, 2],
  [2, 3, 1, 0],
  [2, 1, 3, 0],
] as const;
const SWAP_MASK = 1;
const INVERT_MASK = 2;
const POS_TO_ORIENTATION = [SWAP_MASK, 0, 0, INVERT_MASK | SWAP_MASK] as const;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The latitude and longitude (degrees) in a value's fields, or undefined when they are missing, not numbers, or out of range. */
export function latLngFromValue(value: string, latitudeIndex = GEO_DEFAULTS.latitudeIndex, longitudeIndex = GEO_DEFAULTS.longitudeIndex): { lat: number; lng: number } | undefined {
  const fields = value.split('|');
  const latText = fields[latitudeIndex];
  const lngText = fields[longitudeIndex];
  if (latText === undefined || lngText === undefined || !NUMBER.test(latText.trim()) || !NUMBER.test(lngText.trim())) return undefined;
  const lat = Number(latText);
  const lng = Number(lngText);
  if (Math.abs(lat) > 90 || Math.abs(lng) > 180) return undefined;
  return { lat, lng };
}

/** S2's quadratic projection of a face coordinate u in [-1, 1] to s in [0, 1]. */
function uvToSt(u: number): number {
  return u >= 0 ? 0.5 * Math.sqrt(1 + 3 * u) : 1 - 0.5 * Math.sqrt(1 - 3 * u);
}

function stToIj(s: number): number {
  return Math.max(0, Math.min(MAX_SIZE - 1, Math.floor(MAX_SIZE * s)));
}

/** The leaf S2 cell of a point as S2CellId::ToString() prints it: `face/` then 30 child positions. */
export function leafCellToken(latDegrees: number, lngDegrees: number): string {
  const lat = (latDegrees * Math.PI) / 180;
  const lng = (lngDegrees * Math.PI) / 180;
  const point = [Math.cos(lat) * Math.cos(lng), Math.cos(lat) * Math.sin(lng), Math.sin(lat)] as const;
  const [x, y, z] = point;
  const largest = Math.abs(x) > Math.abs(y) ? (Math.abs(x) > Math.abs(z) ? 0 : 2) : Math.abs(y) > Math.abs(z) ? 1 : 2;
  const face = point[largest]! < 0 ? largest + 3 : largest;
  const [u, v] = [
    [y / x, z / x], [-x / y, z / y], [-x / z, -y / z], [z / x, y / x], [z / y, -x / y], [-y / z, -x / z],
  ][face]!;
  const i = stToIj(uvToSt(u!));
  const j = stToIj(uvToSt(v!));
  let orientation = face & SWAP_MASK;
  let digits = '';
  for (let level = 1; level <= MAX_LEVEL; level++) {
    const shift = MAX_LEVEL - level;
    const ij = (((i >>> shift) & 1) << 1) | ((j >>> shift) & 1);
    const position = IJ_TO_POS[orientation]![ij]!;
    digits += String(position);
    orientation ^= POS_TO_ORIENTATION[position]!;
  }
  return `${face}/${digits}`;
}

/** The geo table's keys for a record, or undefined when its value holds no valid point (PERR_GEO_DECODE_VALUE_ERROR). */
export function geoKeys(hashKey: Buffer, sortKey: Buffer, value: Buffer, minLevel = GEO_DEFAULTS.minLevel): { hashKey: Buffer; sortKey: Buffer } | undefined {
  const point = latLngFromValue(value.toString('latin1'));
  if (!point) return undefined;
  const leaf = leafCellToken(point.lat, point.lng);
  const parentLength = 2 + minLevel;
  return {
    hashKey: Buffer.from(leaf.slice(0, parentLength), 'latin1'),
    sortKey: Buffer.concat([Buffer.from(`${leaf.slice(parentLength)}:`, 'latin1'), encodeCompositeKey(hashKey, sortKey)]),
  };
}
