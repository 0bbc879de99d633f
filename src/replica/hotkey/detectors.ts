// A replica server's hot-key collectors: a read and a write collector for each replica that was
// asked to detect (Pegasus keeps them in each replica's storage app), the answer to
// RPC_DETECT_HOTKEY, the data plane's feed and the periodic analysis. Pure: the replicas come
// from `host`, the time from the settings; the server runs `analyse` on a timer.
import { log } from '../../base/index.ts';
import { DetectAction, HotkeyType, type DetectHotkeyRequest, type DetectHotkeyResponse } from '../../wire/structs/index.ts';
import type { WriteOutcome } from '../write/mutation.ts';
import { readCaptures, writeCaptures, type KeyCapture } from './capture.ts';
import { CollectorState, FINE_QUEUE_MAX, HotkeyCollector, type CollectorSettings } from './collector.ts';
import { hotBucketVarianceThreshold, hotkeyBucketsNum, hotKeyVarianceThreshold, maxSecondsToDetectHotkey } from './flags.ts';

/** Where the replicas are: a replica is any object the host hands out, the same one while it is hosted. */
export interface HotkeyHost {
  find(appId: number, partitionIndex: number): object | undefined;
}

interface ReplicaCollectors {
  readonly appId: number;
  readonly partitionIndex: number;
  readonly read: HotkeyCollector;
  readonly write: HotkeyCollector;
}

/** The flags as the collectors read them, with the given clock. */
export function collectorSettingsFromFlags(nowSeconds: () => number): CollectorSettings {
  return {
    bucketCount: hotkeyBucketsNum.value,
    fineQueueMax: FINE_QUEUE_MAX,
    hotBucketThreshold: () => hotBucketVarianceThreshold.value,
    hotKeyThreshold: () => hotKeyVarianceThreshold.value,
    maxSecondsToDetect: () => maxSecondsToDetectHotkey.value,
    nowSeconds,
  };
}

export class HotkeyDetectors {
  private readonly byReplica = new Map<object, ReplicaCollectors>();

  constructor(private readonly host: HotkeyHost, private readonly settings: CollectorSettings) {}

  /** RPC_DETECT_HOTKEY, checked in Pegasus's order: the replica, the action, the type. */
  handle(request: DetectHotkeyRequest): DetectHotkeyResponse {
    const { appId, partitionIndex } = request.pid;
    const replica = this.host.find(appId, partitionIndex);
    if (replica === undefined) return { err: 'ERR_OBJECT_NOT_FOUND', errHint: `not find the replica ${appId}.${partitionIndex} \n` };
    if (DetectAction[request.action] === undefined) return { err: 'ERR_INVALID_PARAMETERS', errHint: 'invalid detect_action' };
    if (HotkeyType[request.type] === undefined) return { err: 'ERR_INVALID_PARAMETERS', errHint: 'invalid hotkey_type' };
    const collectors = this.collectorsOf(replica, appId, partitionIndex);
    const collector = request.type === HotkeyType.READ ? collectors.read : collectors.write;
    const response = collector.handle(request.action);
    log.info({ gpid: `${appId}.${partitionIndex}`, type: HotkeyType[request.type], action: DetectAction[request.action], err: response.err, hint: response.errHint }, 'detect hotkey request');
    return response;
  }

  /** The state of a replica's collector (STOPPED for one never asked). */
  stateOf(replica: object, type: HotkeyType): CollectorState {
    const collectors = this.byReplica.get(replica);
    if (!collectors) return CollectorState.STOPPED;
    return (type === HotkeyType.READ ? collectors.read : collectors.write).state;
  }

  /** A read the replica served. Cheap unless one of its collectors is detecting. */
  onRead(replica: object, rpc: string, args: unknown, result: unknown): void {
    const collectors = this.detectingCollectors(replica);
    if (collectors) this.feed(collectors, readCaptures(rpc, args, result));
  }

  /** A write the replica committed as primary. */
  onWrite(replica: object, rpc: string, args: unknown, outcome: WriteOutcome): void {
    const collectors = this.detectingCollectors(replica);
    if (collectors) this.feed(collectors, writeCaptures(rpc, args, outcome));
  }

  /** One analysis of every collector; those of replicas no longer hosted are dropped. */
  analyse(): void {
    for (const [replica, collectors] of this.byReplica) {
      if (this.host.find(collectors.appId, collectors.partitionIndex) !== replica) {
        this.byReplica.delete(replica);
        continue;
      }
      for (const collector of [collectors.read, collectors.write]) {
        const before = collector.state;
        collector.analyse();
        if (collector.state !== before) {
          log.info({ gpid: `${collectors.appId}.${collectors.partitionIndex}`, type: HotkeyType[collector.type], from: before, to: collector.state }, 'hotkey collector state changed');
        }
      }
    }
  }

  private collectorsOf(replica: object, appId: number, partitionIndex: number): ReplicaCollectors {
    let collectors = this.byReplica.get(replica);
    if (!collectors) {
      collectors = {
        appId, partitionIndex, read: new HotkeyCollector(HotkeyType.READ, this.settings), write: new HotkeyCollector(HotkeyType.WRITE, this.settings),
      };
      this.byReplica.set(replica, collectors);
    }
    return collectors;
  }

  private detectingCollectors(replica: object): ReplicaCollectors | undefined {
    const collectors = this.byReplica.get(replica);
    return collectors && (collectors.read.detecting || collectors.write.detecting) ? collectors : undefined;
  }

  private feed(collectors: ReplicaCollectors, captures: { read: KeyCapture[]; write: KeyCapture[] }): void {
    for (const { hashKey, weight } of captures.read) collectors.read.capture(hashKey, weight);
    for (const { hashKey, weight } of captures.write) collectors.write.capture(hashKey, weight);
  }
}
