// Between the meta's model (addresses as "host:port" strings, numbers) and the thrift structs
// (HostPort objects, bigint ballots and times, enum numbers).
import { formatHostPort, INVALID_HOST_PORT, parseHostPort, type HostPort } from '../base/index.ts';
import type * as wire from '../wire/index.ts';
import {
  APP_STATUS_VALUES, appStatusFromValue, MANUAL_COMPACT_STATUS_VALUES, PARTITION_STATUS_VALUES, type AppInfo, type ManualCompactStatus,
  type PartitionConfiguration, type PartitionStatus, type ReplicaInfo,
} from './model.ts';

export function toHostPort(address: string): HostPort {
  return address === '' ? INVALID_HOST_PORT : parseHostPort(address);
}

export function fromHostPort(address: HostPort): string {
  return formatHostPort(address);
}

export function appInfoToWire(app: AppInfo): wire.AppInfo {
  return {
    status: APP_STATUS_VALUES[app.status],
    appType: app.appType,
    appName: app.appName,
    appId: app.appId,
    partitionCount: app.partitionCount,
    envs: new Map(Object.entries(app.envs)),
    isStateful: app.isStateful,
    maxReplicaCount: app.maxReplicaCount,
    expireSecond: BigInt(app.expireSecond),
    createSecond: BigInt(app.createSecond),
    dropSecond: BigInt(app.dropSecond),
    duplicating: app.duplicating,
    initPartitionCount: app.initPartitionCount,
    isBulkLoading: app.isBulkLoading,
    atomicIdempotent: app.atomicIdempotent,
  };
}

export function appInfoFromWire(app: wire.AppInfo): AppInfo {
  return {
    status: appStatusFromValue(app.status) ?? 'AS_INVALID',
    appType: app.appType,
    appName: app.appName,
    appId: app.appId,
    partitionCount: app.partitionCount,
    envs: Object.fromEntries(app.envs),
    isStateful: app.isStateful,
    maxReplicaCount: app.maxReplicaCount,
    expireSecond: Number(app.expireSecond),
    createSecond: Number(app.createSecond),
    dropSecond: Number(app.dropSecond),
    duplicating: app.duplicating ?? false,
    initPartitionCount: app.initPartitionCount,
    isBulkLoading: app.isBulkLoading ?? false,
    atomicIdempotent: app.atomicIdempotent ?? false,
  };
}

/** With the host_port twins filled, as the reference server sends them. */
export function partitionConfigurationToWire(config: PartitionConfiguration): wire.PartitionConfiguration {
  const secondaries = config.secondaries.map(toHostPort);
  const lastDrops = config.lastDrops.map(toHostPort);
  return {
    pid: { appId: config.gpid.appId, partitionIndex: config.gpid.partitionIndex },
    ballot: BigInt(config.ballot),
    maxReplicaCount: config.maxReplicaCount,
    primary: toHostPort(config.primary),
    secondaries,
    lastDrops,
    lastCommittedDecree: BigInt(config.lastCommittedDecree),
    partitionFlags: config.partitionFlags,
    hpPrimary: toHostPort(config.primary),
    hpSecondaries: secondaries,
    hpLastDrops: lastDrops,
  };
}

export function partitionConfigurationFromWire(config: wire.PartitionConfiguration): PartitionConfiguration {
  // Prefer the host_port twins when a peer sent them.
  return {
    gpid: { appId: config.pid.appId, partitionIndex: config.pid.partitionIndex },
    ballot: Number(config.ballot),
    maxReplicaCount: config.maxReplicaCount,
    primary: fromHostPort(config.hpPrimary ?? config.primary),
    secondaries: (config.hpSecondaries ?? config.secondaries).map(fromHostPort),
    lastDrops: (config.hpLastDrops ?? config.lastDrops).map(fromHostPort),
    lastCommittedDecree: Number(config.lastCommittedDecree),
    partitionFlags: config.partitionFlags,
  };
}

function partitionStatusFromValue(value: number): PartitionStatus {
  for (const [name, number] of Object.entries(PARTITION_STATUS_VALUES)) if (number === value) return name as PartitionStatus;
  return 'PS_INVALID';
}

export function replicaInfoToWire(replica: ReplicaInfo): wire.ReplicaInfo {
  return {
    pid: { ...replica.gpid },
    ballot: BigInt(replica.ballot),
    status: PARTITION_STATUS_VALUES[replica.status],
    lastCommittedDecree: BigInt(replica.lastCommittedDecree),
    lastPreparedDecree: BigInt(replica.lastPreparedDecree),
    lastDurableDecree: BigInt(replica.lastDurableDecree),
    appType: replica.appType,
    diskTag: replica.diskTag,
    ...(replica.manualCompactStatus !== undefined && { manualCompactStatus: MANUAL_COMPACT_STATUS_VALUES[replica.manualCompactStatus] }),
  };
}

function manualCompactStatusFromValue(value: number): ManualCompactStatus {
  for (const [name, number] of Object.entries(MANUAL_COMPACT_STATUS_VALUES)) if (number === value) return name as ManualCompactStatus;
  return 'IDLE';
}

export function replicaInfoFromWire(replica: wire.ReplicaInfo): ReplicaInfo {
  return {
    gpid: { ...replica.pid },
    ballot: Number(replica.ballot),
    status: partitionStatusFromValue(replica.status),
    lastCommittedDecree: Number(replica.lastCommittedDecree),
    lastPreparedDecree: Number(replica.lastPreparedDecree),
    lastDurableDecree: Number(replica.lastDurableDecree),
    appType: replica.appType,
    diskTag: replica.diskTag,
    ...(replica.manualCompactStatus !== undefined && { manualCompactStatus: manualCompactStatusFromValue(replica.manualCompactStatus) }),
  };
}
