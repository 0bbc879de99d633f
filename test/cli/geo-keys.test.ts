// The geo index keys copy_data -g writes: S2 leaf cells as S2CellId::ToString() prints them
// (expected values from the S2 library), the value's lat/lng fields, and the key layout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCompositeKey } from '../../src/client/index.ts';
import { geoKeys, latLngFromValue, leafCellToken } from '../../src/cli/shell/geo-keys.ts';

describe('geo keys', () => {
  test('leaf cells match the S2 library', () => {
    assert.equal(leafCellToken(0, 0), `0/2${'0'.repeat(29)}`);
    assert.equal(leafCellToken(39.9042, 116.4074), '1/223320022111303230203300012020');
    assert.equal(leafCellToken(-33.87, 151.21), '3/112021111301333300231213121321');
    assert.equal(leafCellToken(40.7128, -74.006), '4/103201023101010012133000102310');
  });

  test('latitude is field 5 and longitude field 4 of a |-separated value', () => {
    assert.deepEqual(latLngFromValue('a|b|c|d|116.4074|39.9042|rest'), { lat: 39.9042, lng: 116.4074 });
    assert.equal(latLngFromValue('a|b|c|d|116.4074'), undefined);
    assert.equal(latLngFromValue('a|b|c|d|x|39.9'), undefined);
    assert.equal(latLngFromValue('a|b|c|d|10|91'), undefined);
  });

  test('hash key is the level-12 cell, sort key the rest of the leaf, then the record key', () => {
    const keys = geoKeys(Buffer.from('h'), Buffer.from('s'), Buffer.from('0|0|0|0|116.4074|39.9042'))!;
    assert.equal(keys.hashKey.toString(), '1/223320022111');
    assert.deepEqual(keys.sortKey, Buffer.concat([Buffer.from('303230203300012020:'), encodeCompositeKey(Buffer.from('h'), Buffer.from('s'))]));
    assert.equal(geoKeys(Buffer.from('h'), Buffer.from('s'), Buffer.from('no point')), undefined);
  });
});
