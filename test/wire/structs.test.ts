// Struct codecs, placeholder types, crc64 routing and gpid/address helpers: golden bytes from
// spec pegasus-arch §1.7, a round trip of every struct, a cross-check against Apache's `thrift`
// package, and decoding of damaged input.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { compositeKeyHash, crc64, hashKeyHash, partitionIndexOf, recordHash } from '../../src/base/crc64.ts';
import { PteronError } from '../../src/base/errors.ts';
import { formatGpid, gpidFromI64, gpidToI64, parseGpid } from '../../src/base/gpid.ts';
import {
  formatHostPort, INVALID_HOST_PORT, parseHostPort, parseHostPortList, rpcAddressFromI64, rpcAddressToI64,
} from '../../src/base/host-port.ts';
import { encodeRequestFrameV0, encodeResponseFrame, parseResponseFrame } from '../../src/wire/frame.ts';
import { ThriftDecodeError, ThriftReader, ThriftWriter, TType } from '../../src/wire/thrift.ts';
import * as structs from '../../src/wire/structs/index.ts';
import {
  blobType, decodeArgs, decodeResult, decodeValue, encodeArgs, encodeResult, encodeValue, errorCodeType, gpidType, hostPortType,
  RPC_BY_NAME, RPCS, rpcAddressType, taskCodeType, type ListType, type MapType, type StructType, type WireType,
} from '../../src/wire/structs/index.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string): string => Buffer.from(text, 'latin1').toString('hex');

describe('crc64 and partition hashing', () => {
  it('matches the reference vectors', () => {
    assert.equal(crc64(Buffer.alloc(0)), 0n);
    assert.equal(crc64(Buffer.from('a')), 0x8c2f8445b4cbfc3cn);
    assert.equal(crc64(Buffer.from('123456789')), 0xae8b14860a799888n);
    assert.equal(crc64(Buffer.from('hk')), 0x5d9ad5b51c9a4ab3n);
  });

  it('chains through init and stays unsigned', () => {
    const whole = Buffer.from('hello, pegasus partition hash');
    for (let cut = 0; cut <= whole.length; cut++) {
      assert.equal(crc64(whole.subarray(cut), crc64(whole.subarray(0, cut))), crc64(whole));
    }
    for (let length = 0; length < 64; length++) {
      const value = crc64(Buffer.alloc(length, 0xff));
      assert.ok(value >= 0n && value < 1n << 64n);
    }
  });

  it('hashes a record by its hash key, or its sort key when the hash key is empty', () => {
    assert.equal(recordHash(Buffer.from('hk'), Buffer.from('sk')), crc64(Buffer.from('hk')));
    assert.equal(recordHash(Buffer.alloc(0), Buffer.from('sk')), crc64(Buffer.from('sk')));
    assert.equal(hashKeyHash(Buffer.from('hk')), 0x5d9ad5b51c9a4ab3n);
    assert.equal(compositeKeyHash(hex('0002 686b 736b')), 0x5d9ad5b51c9a4ab3n);
    assert.equal(compositeKeyHash(hex('0000 736b')), crc64(Buffer.from('sk')));
    assert.equal(compositeKeyHash(hex('0000')), 0n);
    assert.throws(() => compositeKeyHash(hex('00')), RangeError);
    assert.throws(() => compositeKeyHash(hex('0005 6868')), RangeError);
  });

  it('maps a hash to a partition as an unsigned 64-bit remainder', () => {
    assert.equal(partitionIndexOf(0x5d9ad5b51c9a4ab3n, 8), 3);
    assert.equal(partitionIndexOf(-1n, 8), 7);
    assert.equal(partitionIndexOf(0xffffffffffffffffn, 3), Number(0xffffffffffffffffn % 3n));
    assert.throws(() => partitionIndexOf(1n, 0), RangeError);
  });
});

describe('gpid and addresses', () => {
  it('packs gpid as (pidx << 32) | app_id', () => {
    assert.equal(gpidToI64({ appId: 2, partitionIndex: 3 }), 0x0000000300000002n);
    assert.deepEqual(gpidFromI64(0x0000000300000002n), { appId: 2, partitionIndex: 3 });
    for (const value of [{ appId: -1, partitionIndex: -1 }, { appId: 0x7fffffff, partitionIndex: -0x80000000 }, { appId: 0, partitionIndex: 0 }]) {
      assert.deepEqual(gpidFromI64(gpidToI64(value)), value);
    }
    assert.equal(gpidToI64({ appId: -1, partitionIndex: -1 }), -1n);
    assert.equal(formatGpid({ appId: 2, partitionIndex: 3 }), '2.3');
    assert.deepEqual(parseGpid(' 2.3 '), { appId: 2, partitionIndex: 3 });
    for (const bad of ['', '2', '2.', 'a.b', '2.3.4', '99999999999.1']) {
      assert.throws(() => parseGpid(bad), (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_PARAMETERS');
    }
  });

  it('parses and formats host:port', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:34801'), { host: '127.0.0.1', port: 34801 });
    assert.deepEqual(parseHostPort(' node-1.example:34601 '), { host: 'node-1.example', port: 34601 });
    assert.equal(formatHostPort({ host: 'h', port: 1 }), 'h:1');
    assert.equal(formatHostPort(INVALID_HOST_PORT), '');
    assert.deepEqual(parseHostPortList('a:1, b:2,,'), [{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
    for (const bad of ['', 'host', ':1', 'h:', 'h:0', 'h:65536', 'h:1x', 'a b:1', '[::1]:80']) {
      assert.throws(() => parseHostPort(bad), (error: unknown) => error instanceof PteronError && error.code === 'ERR_INVALID_PARAMETERS', bad);
    }
  });

  it('packs an IPv4 rpc_address as (ip << 32) | (port << 16) | 1', () => {
    assert.equal(BigInt.asUintN(64, rpcAddressToI64({ host: '127.0.0.1', port: 34801 })), 0x7f00000187f10001n);
    assert.deepEqual(rpcAddressFromI64(0x7f00000187f10001n), { host: '127.0.0.1', port: 34801 });
    const high = { host: '255.254.253.252', port: 65535 };
    assert.ok(rpcAddressToI64(high) < 0n, 'addresses above 128.0.0.0 are negative i64s');
    assert.deepEqual(rpcAddressFromI64(rpcAddressToI64(high)), high);
    assert.equal(rpcAddressToI64(INVALID_HOST_PORT), 0n);
    assert.deepEqual(rpcAddressFromI64(0n), INVALID_HOST_PORT);
    assert.throws(() => rpcAddressToI64({ host: 'localhost', port: 1 }), PteronError);
    assert.throws(() => rpcAddressToI64({ host: '256.0.0.1', port: 1 }), PteronError);
    assert.throws(() => rpcAddressFromI64(0x7f00000187f10002n), PteronError);
  });
});

describe('placeholder types', () => {
  const bytesOf = <T>(type: WireType<T>, value: T): string => encodeValue(type, value).toString('hex');

  it('writes raw payloads', () => {
    assert.equal(bytesOf(blobType, Buffer.from('ab')), '000000026162');
    assert.equal(bytesOf(errorCodeType, 'ERR_OK'), '00000006' + ascii('ERR_OK'));
    assert.equal(bytesOf(taskCodeType, 'RPC_X'), '00000005' + ascii('RPC_X'));
    assert.equal(bytesOf(gpidType, { appId: 2, partitionIndex: 3 }), '0000000300000002');
    assert.equal(bytesOf(rpcAddressType, { host: '127.0.0.1', port: 34801 }), '7f00000187f10001');
    assert.equal(bytesOf(hostPortType, { host: 'h1', port: 34801 }), '00000002' + ascii('h1') + '87f1' + '01');
    assert.equal(bytesOf(hostPortType, INVALID_HOST_PORT), '00000000' + '0000' + '00');
  });

  it('reads host_port ports above 32767 and rejects unsupported types', () => {
    assert.deepEqual(decodeValue(hostPortType, hex('00000002 6831 ffff 01')), { host: 'h1', port: 65535 });
    assert.deepEqual(decodeValue(hostPortType, hex('00000000 0000 00')), INVALID_HOST_PORT);
    assert.throws(() => decodeValue(hostPortType, hex('00000002 6831 87f1 02')), ThriftDecodeError);
    assert.throws(() => decodeValue(rpcAddressType, hex('7f00000187f10002')), ThriftDecodeError);
  });

  it('accepts a placeholder field whose header names its payload type', () => {
    // rDSN reads the payload without checking the header type, so STRING-typed blobs and
    // I64-typed gpids from other writers decode too.
    const asString = hex('0b 0001 00000002 6869  00');
    assert.deepEqual(decodeArgs(blobType, asString), Buffer.from('hi'));
    const partition = hex('0a 0001 0000000300000002  00');
    assert.deepEqual(structs.partitionConfigurationCodec.read(new ThriftReader(partition)).pid, { appId: 2, partitionIndex: 3 });
  });
});

describe('golden vectors (spec §1.7)', () => {
  const getArgs = hex('0c 0001 00000006 0002686b736b 00');
  const readResult = hex(`
    0c 0000
      08 0001 00000000
      0c 0002 00000001 76
      08 0003 00000002  08 0004 00000003
      0b 0006 0000000b ${ascii('host1:34801')}
      00
    00`);

  it('encodes the GET args and the whole v0 request', () => {
    const key = hex('0002686b736b');
    assert.deepEqual(encodeArgs(RPCS.RPC_RRDB_RRDB_GET.args, key), getArgs);
    assert.deepEqual(decodeArgs(RPCS.RPC_RRDB_RRDB_GET.args, getArgs), key);
    const frame = encodeRequestFrameV0('RPC_RRDB_RRDB_GET', 1, getArgs, {
      appId: 2, partitionIndex: 3, clientTimeoutMs: 1000, partitionHash: compositeKeyHash(key),
    });
    assert.equal(frame.length, 91);
    assert.deepEqual(frame, hex(`
      54484654 00000000 00000030 00000000 0000002b 00000000 00000002 00000003
      000003e8 00003de1 5d9ad5b51c9a4ab3
      80010001 00000011 ${ascii('RPC_RRDB_RRDB_GET')} 00000001
      0c 0001 00000006 0002686b736b 00`));
  });

  it('encodes the read_response result and the whole reply', () => {
    const response = { error: 0, value: Buffer.from('v'), appId: 2, partitionIndex: 3, server: 'host1:34801' };
    assert.deepEqual(encodeResult(RPCS.RPC_RRDB_RRDB_GET.result, response), readResult);
    assert.deepEqual(decodeResult(RPCS.RPC_RRDB_RRDB_GET.result, readResult), response);
    const frame = encodeResponseFrame('ERR_OK', 'RPC_RRDB_RRDB_GET', 1, readResult);
    assert.equal(frame.length, 99);
    assert.deepEqual(frame.subarray(0, 4), hex('00000063'));
    const parsed = parseResponseFrame(frame, 1 << 20);
    assert.ok(parsed);
    assert.deepEqual(decodeResult(structs.readResponseCodec, parsed.frame.result), response);
  });

  it('has no body in an error reply', () => {
    assert.deepEqual(
      encodeResponseFrame('ERR_OBJECT_NOT_FOUND', 'RPC_RRDB_RRDB_GET', 1, readResult),
      hex(`0000003d 00000014 ${ascii('ERR_OBJECT_NOT_FOUND')} 80010002 00000015 ${ascii('RPC_RRDB_RRDB_GET_ACK')} 00000001`),
    );
  });

  it('encodes the remote command reply as a STRING field 0', () => {
    assert.deepEqual(encodeResult(RPCS.RPC_CLI_CLI_CALL.result, 'ok'), hex('0b 0000 00000002 6f6b 00'));
    assert.deepEqual(
      encodeArgs(RPCS.RPC_CLI_CLI_CALL.args, { cmd: 'help', arguments: ['x'] }),
      hex(`0c 0001  0b 0001 00000004 ${ascii('help')}  0f 0002 0b 00000001 00000001 78  00  00`),
    );
  });

  it('encodes a partition configuration with raw address payloads', () => {
    const config = structs.partitionConfigurationCodec.create({
      pid: { appId: 2, partitionIndex: 3 },
      ballot: 5n,
      maxReplicaCount: 3,
      primary: { host: '127.0.0.1', port: 34801 },
      secondaries: [{ host: '127.0.0.1', port: 34802 }],
      hpPrimary: { host: 'localhost', port: 34801 },
    });
    assert.deepEqual(encodeValue(structs.partitionConfigurationCodec, config), hex(`
      0c 0001 0000000300000002
      0a 0002 0000000000000005
      08 0003 00000003
      0c 0004 7f00000187f10001
      0f 0005 0c 00000001 7f00000187f20001
      0f 0006 0c 00000000
      0a 0007 0000000000000000
      08 0008 00000000
      0c 0009 00000009 ${ascii('localhost')} 87f1 01
      00`));
  });
});

// ---------------------------------------------------------------------------------------------

/** Every struct codec the structs module exports. */
const allStructs: StructType<object>[] = (Object.values(structs) as unknown[]).filter(
  (value): value is StructType<object> => typeof value === 'object' && value !== null && 'fields' in value && 'create' in value,
);

/** A value of `type` unlike its default, so a dropped or misplaced field shows. */
function sample(type: WireType<unknown>, seed: number, withOptional: boolean): unknown {
  if (type === blobType) return Buffer.from(`blob-${seed}`);
  if (type === errorCodeType) return 'ERR_APP_EXIST';
  if (type === taskCodeType) return 'RPC_RRDB_RRDB_PUT';
  if (type === gpidType) return { appId: seed, partitionIndex: -seed };
  if (type === rpcAddressType) return { host: `10.0.${seed % 256}.200`, port: 34800 + seed };
  if (type === hostPortType) return { host: `node-${seed}.example`, port: 40000 + seed };
  switch (type.ttype) {
    case TType.BOOL: return true;
    case TType.BYTE: return -(seed % 100);
    case TType.I16: return -seed;
    case TType.I32: return -1000 - seed;
    case TType.I64: return -(1n << 40n) - BigInt(seed);
    case TType.DOUBLE: return seed + 0.5;
    case TType.STRING: return type.label === 'binary' ? Buffer.from(`bin-${seed}`) : `text-${seed}-é`;
    case TType.LIST:
    case TType.SET: {
      const element = (type as ListType<unknown>).element;
      return [sample(element, seed + 1, withOptional), sample(element, seed + 2, withOptional)];
    }
    case TType.MAP: {
      const map = type as MapType<unknown, unknown>;
      return new Map([[sample(map.key, seed + 1, withOptional), sample(map.value, seed + 2, withOptional)]]);
    }
    case TType.STRUCT: {
      const struct = type as StructType<Record<string, unknown>>;
      const value: Record<string, unknown> = {};
      for (const field of struct.fields) {
        if (!withOptional && 'optional' in field && field.optional) continue;
        value[field.name] = sample(field.type as WireType<unknown>, seed + field.id, withOptional);
      }
      return value;
    }
    default:
      throw new Error(`no sample for ${type.label}`);
  }
}

describe('every struct codec', () => {
  it('covers the structs the brief lists', () => {
    const names = new Set(allStructs.map((struct) => struct.name));
    for (const name of [
      'query_cfg_request', 'query_cfg_response', 'partition_configuration', 'app_info', 'create_app_options',
      'configuration_create_app_request', 'configuration_create_app_response', 'configuration_drop_app_request',
      'configuration_drop_app_response', 'configuration_recall_app_request', 'configuration_recall_app_response',
      'configuration_list_apps_request', 'configuration_list_apps_response', 'node_info', 'configuration_list_nodes_request',
      'configuration_list_nodes_response', 'configuration_cluster_info_request', 'configuration_cluster_info_response',
      'configuration_update_app_env_request', 'configuration_update_app_env_response',
      'update_request', 'update_response', 'read_response', 'multi_put_request', 'multi_remove_request', 'multi_remove_response',
      'multi_get_request', 'multi_get_response', 'key_value', 'incr_request', 'incr_response', 'check_and_set_request',
      'check_and_set_response', 'check_and_mutate_request', 'check_and_mutate_response', 'mutate', 'batch_get_request',
      'batch_get_response', 'full_key', 'full_data', 'ttl_response', 'count_response', 'get_scanner_request', 'scan_request',
      'scan_response', 'command',
    ]) {
      assert.ok(names.has(name), `missing codec for ${name}`);
    }
    assert.ok(allStructs.length >= 60, `${allStructs.length} codecs`);
  });

  for (const struct of allStructs) {
    it(`${struct.name}: round trip, defaults, damaged input`, () => {
      for (const withOptional of [true, false]) {
        const value = sample(struct, 1, withOptional) as object;
        const bytes = encodeValue(struct, value);
        assert.deepEqual(decodeValue(struct, bytes), struct.create(value), `${struct.name} (optional fields: ${withOptional})`);
        // Wrapped as args and as a result, as on the wire.
        assert.deepEqual(decodeArgs(struct, encodeArgs(struct, value)), struct.create(value));
        assert.deepEqual(decodeResult(struct, encodeResult(struct, value)), struct.create(value));
        // Every cut short of the end is detected.
        for (let cut = 0; cut < bytes.length; cut++) {
          assert.throws(() => decodeValue(struct, bytes.subarray(0, cut)), ThriftDecodeError, `${struct.name} cut at ${cut}`);
        }
      }
      // An empty struct decodes to the defaults.
      assert.deepEqual(decodeValue(struct, hex('00')), struct.create());
    });
  }

  it('skips unknown fields of standard types, before and after known ones', () => {
    const writer = new ThriftWriter();
    writer.fieldBegin(TType.LIST, 99).listBegin(TType.STRUCT, 1).fieldBegin(TType.I32, 1).i32(7).fieldStop();
    writer.fieldBegin(TType.I32, 1).i32(13);
    writer.fieldBegin(TType.MAP, 7).mapBegin(TType.STRING, TType.DOUBLE, 1).string('k').double(1.5);
    writer.fieldBegin(TType.STRING, 6).string('srv');
    writer.fieldBegin(TType.I64, 2).i64(9n); // known id, wrong type: skipped
    writer.fieldStop();
    assert.deepEqual(decodeValue(structs.readResponseCodec, writer.finish()), {
      error: 13, value: Buffer.alloc(0), appId: 0, partitionIndex: 0, server: 'srv',
    });
  });

  it('never throws anything but ThriftDecodeError on corrupted input', () => {
    let state = 0x2545f491;
    const random = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 0x100000000;
    };
    let decoded = 0;
    for (const struct of allStructs) {
      const good = encodeValue(struct, sample(struct, 3, true) as object);
      for (let round = 0; round < 60; round++) {
        const bytes = Buffer.from(good);
        const flips = 1 + Math.floor(random() * 4);
        for (let flip = 0; flip < flips; flip++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        const noise = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
        for (const input of [bytes, noise]) {
          try {
            decodeValue(struct, input);
            decoded++;
          } catch (error) {
            assert.ok(error instanceof ThriftDecodeError, `${struct.name}: ${(error as Error).stack}`);
          }
        }
      }
    }
    assert.ok(decoded > 0, 'some corruptions still decode (e.g. a changed value byte)');
  });

  it('create() fills defaults, including IDL defaults and optional fields left out', () => {
    const info = structs.appInfoCodec.create({ appName: 'temp' });
    assert.equal(info.initPartitionCount, -1);
    assert.equal(info.status, structs.AppStatus.AS_INVALID);
    assert.equal('duplicating' in info, false);
    assert.equal(structs.queryCfgResponseCodec.create().err, 'ERR_OK');
    const request = structs.getScannerRequestCodec.create({ batchSize: 100, validatePartitionHash: undefined });
    assert.equal('validatePartitionHash' in request, false);
    assert.deepEqual(request.startKey, Buffer.alloc(0));
  });
});

describe('RPC table', () => {
  it('names every RPC by its wire name with an _ACK reply', () => {
    assert.ok(RPC_BY_NAME.size >= 30);
    for (const [name, definition] of RPC_BY_NAME) {
      assert.equal(definition.name, name);
      assert.equal(definition.ackName, `${name}_ACK`);
      assert.equal(definition.oneway, definition.result === undefined);
      assert.ok(/^RPC_[A-Z_]+$/.test(name));
    }
    assert.equal(RPCS.RPC_RRDB_RRDB_CLEAR_SCANNER.oneway, true);
    assert.equal(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX.role, 'meta');
    assert.equal(RPCS.RPC_RRDB_RRDB_GET.args, blobType);
    assert.equal(structs.findRpc('RPC_NOPE'), undefined);
  });

  it('sends query_cfg as the official clients do', () => {
    // Go and Java: {1: app_name, 2: empty list<i32>}.
    assert.deepEqual(
      encodeArgs(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX.args, { appName: 'temp', partitionIndices: [] }),
      hex(`0c 0001  0b 0001 00000004 ${ascii('temp')}  0f 0002 08 00000000  00  00`),
    );
    // Node.js leaves field 2 out.
    assert.deepEqual(
      decodeArgs(RPCS.RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX.args, hex(`0c 0001 0b 0001 00000004 ${ascii('temp')} 00 00`)),
      { appName: 'temp', partitionIndices: [] },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-check against Apache's thrift library (structs without placeholder types).

const require = createRequire(import.meta.url);
// The package ships no types and is a test-only dependency.
const thrift: any = require('thrift');
const T = thrift.Thrift.Type;

function libraryWrite(write: (protocol: any) => void): Buffer {
  let out: Buffer | undefined;
  const transport = new thrift.TBufferedTransport(undefined, (bytes: Buffer) => {
    out = Buffer.from(bytes);
  });
  write(new thrift.TBinaryProtocol(transport));
  transport.flush();
  assert.ok(out);
  return out;
}

function libraryRead<R>(bytes: Buffer, read: (protocol: any) => R): R {
  let result: R | undefined;
  thrift.TBufferedTransport.receiver((transport: unknown) => {
    result = read(new thrift.TBinaryProtocol(transport));
  })(bytes);
  return result as R;
}

/** Reads any struct generically into {fieldId: value}, lists as arrays, maps as entry arrays. */
function libraryReadStruct(protocol: any): Record<number, unknown> {
  const readValue = (type: number): unknown => {
    switch (type) {
      case T.BOOL: return protocol.readBool();
      case T.BYTE: return protocol.readByte();
      case T.I16: return protocol.readI16();
      case T.I32: return protocol.readI32();
      case T.I64: return thrift.toBigInt(protocol.readI64());
      case T.DOUBLE: return protocol.readDouble();
      case T.STRING: return protocol.readString();
      case T.STRUCT: return libraryReadStruct(protocol);
      case T.LIST: {
        const list = protocol.readListBegin();
        const values = Array.from({ length: list.size }, () => readValue(list.etype));
        protocol.readListEnd();
        return values;
      }
      case T.MAP: {
        const map = protocol.readMapBegin();
        const entries = Array.from({ length: map.size }, () => [readValue(map.ktype), readValue(map.vtype)]);
        protocol.readMapEnd();
        return entries;
      }
      default: throw new Error(`type ${type}`);
    }
  };
  const fields: Record<number, unknown> = {};
  protocol.readStructBegin();
  for (;;) {
    const field = protocol.readFieldBegin();
    if (field.ftype === T.STOP) break;
    fields[field.fid] = readValue(field.ftype);
    protocol.readFieldEnd();
  }
  protocol.readStructEnd();
  return fields;
}

describe('cross-check with the thrift package', () => {
  it('update_response', () => {
    const value = { error: 1, appId: 2, partitionIndex: 3, decree: -(1n << 50n), server: 'host1:34801' };
    const library = libraryWrite((p) => {
      p.writeStructBegin('update_response');
      p.writeFieldBegin('error', T.I32, 1); p.writeI32(1); p.writeFieldEnd();
      p.writeFieldBegin('app_id', T.I32, 2); p.writeI32(2); p.writeFieldEnd();
      p.writeFieldBegin('partition_index', T.I32, 3); p.writeI32(3); p.writeFieldEnd();
      p.writeFieldBegin('decree', T.I64, 4); p.writeI64(thrift.fromBigInt(-(1n << 50n))); p.writeFieldEnd();
      p.writeFieldBegin('server', T.STRING, 5); p.writeString('host1:34801'); p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    assert.deepEqual(encodeValue(structs.updateResponseCodec, value), library);
    assert.deepEqual(decodeValue(structs.updateResponseCodec, library), value);
  });

  it('configuration_create_app_request (nested struct and map)', () => {
    const value = structs.createAppRequestCodec.create({
      appName: 'temp',
      options: structs.createAppOptionsCodec.create({
        partitionCount: 8, replicaCount: 3, successIfExist: true, appType: 'pegasus', isStateful: true,
        envs: new Map([['rocksdb.usage_scenario', 'bulk_load']]), atomicIdempotent: false,
      }),
    });
    const library = libraryWrite((p) => {
      p.writeStructBegin('configuration_create_app_request');
      p.writeFieldBegin('app_name', T.STRING, 1); p.writeString('temp'); p.writeFieldEnd();
      p.writeFieldBegin('options', T.STRUCT, 2);
      p.writeStructBegin('create_app_options');
      p.writeFieldBegin('partition_count', T.I32, 1); p.writeI32(8); p.writeFieldEnd();
      p.writeFieldBegin('replica_count', T.I32, 2); p.writeI32(3); p.writeFieldEnd();
      p.writeFieldBegin('success_if_exist', T.BOOL, 3); p.writeBool(true); p.writeFieldEnd();
      p.writeFieldBegin('app_type', T.STRING, 4); p.writeString('pegasus'); p.writeFieldEnd();
      p.writeFieldBegin('is_stateful', T.BOOL, 5); p.writeBool(true); p.writeFieldEnd();
      p.writeFieldBegin('envs', T.MAP, 6);
      p.writeMapBegin(T.STRING, T.STRING, 1); p.writeString('rocksdb.usage_scenario'); p.writeString('bulk_load'); p.writeMapEnd();
      p.writeFieldEnd();
      p.writeFieldBegin('atomic_idempotent', T.BOOL, 7); p.writeBool(false); p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    assert.deepEqual(encodeValue(structs.createAppRequestCodec, value), library);
    assert.deepEqual(decodeValue(structs.createAppRequestCodec, library), value);
  });

  it('configuration_update_app_env_request, command and query_cfg_request read back by the library', () => {
    const env = encodeValue(structs.updateAppEnvRequestCodec, {
      appName: 'temp', op: structs.AppEnvOperation.APP_ENV_OP_SET, keys: ['a', 'b'], values: ['1', '2'],
    });
    assert.deepEqual(libraryRead(env, libraryReadStruct), { 1: 'temp', 2: 1, 3: ['a', 'b'], 4: ['1', '2'] });
    const command = encodeValue(structs.commandCodec, { cmd: 'server-info', arguments: [] });
    assert.deepEqual(libraryRead(command, libraryReadStruct), { 1: 'server-info', 2: [] });
    const query = encodeValue(structs.queryCfgRequestCodec, { appName: 'temp', partitionIndices: [0, 7, -1] });
    assert.deepEqual(libraryRead(query, libraryReadStruct), { 1: 'temp', 2: [0, 7, -1] });
    const count = encodeValue(structs.countResponseCodec, { error: 0, count: 1n << 40n, appId: 1, partitionIndex: 2, server: 's' });
    assert.deepEqual(libraryRead(count, libraryReadStruct), { 1: 0, 2: 1n << 40n, 3: 1, 4: 2, 6: 's' });
  });

  it('scan_request and list_apps_request written by the library', () => {
    const scan = libraryWrite((p) => {
      p.writeStructBegin('scan_request');
      p.writeFieldBegin('context_id', T.I64, 1); p.writeI64(thrift.fromBigInt(0x1234567800000001n)); p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    assert.deepEqual(decodeValue(structs.scanRequestCodec, scan), { contextId: 0x1234567800000001n });
    const list = libraryWrite((p) => {
      p.writeStructBegin('configuration_list_apps_request');
      p.writeFieldBegin('status', T.I32, 1); p.writeI32(1); p.writeFieldEnd();
      p.writeFieldBegin('app_name_pattern', T.STRING, 2); p.writeString('te'); p.writeFieldEnd();
      p.writeFieldBegin('match_type', T.I32, 3); p.writeI32(4); p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    const request = { status: structs.AppStatus.AS_AVAILABLE, appNamePattern: 'te', matchType: structs.PatternMatchType.PMT_MATCH_PREFIX };
    assert.deepEqual(decodeValue(structs.listAppsRequestCodec, list), request);
    assert.deepEqual(encodeValue(structs.listAppsRequestCodec, request), list);
  });
});

// Type-level checks of the RPC table's inference (compile-time only).
const typedGetArgs: structs.RpcArgs<'RPC_RRDB_RRDB_GET'> = Buffer.alloc(0);
const typedGetResult: structs.RpcResult<'RPC_RRDB_RRDB_GET'> = structs.readResponseCodec.create();
const typedCliResult: structs.RpcResult<'RPC_CLI_CLI_CALL'> = '';
void typedGetArgs;
void typedGetResult;
void typedCliResult;
