// One replica's hot-key collector for one kind of request (reads or writes), as Pegasus's
// hotkey_collector: started by an operator, it counts the hash keys it is fed into buckets
// (coarse stage) until one bucket stands out, then counts the exact hash keys of that bucket
// (fine stage) until one stands out, and keeps that key until it is stopped. Each stage decides
// only when `analyse` runs (a timer, every hotkey_analyse_time_interval_s), from what was fed
// since the last run; a detection that finds nothing within max_seconds_to_detect_hotkey stops.
//
//   STOPPED --start--> COARSE_DETECTING --hot bucket--> FINE_DETECTING --hot key--> FINISHED
//      ^------------ stop (any state), or the time is up (while detecting) -------------'
//
// No I/O and no clock of its own: the time comes from `nowSeconds`, so tests step it.
import { DetectAction, HotkeyType, type DetectHotkeyResponse } from '../../wire/structs/index.ts';
import { cEscape } from './escape.ts';
import { bucketOf, findOutlierIndex } from './outlier.ts';

export enum CollectorState {
  STOPPED = 'STOPPED',
  COARSE_DETECTING = 'COARSE_DETECTING',
  FINE_DETECTING = 'FINE_DETECTING',
  FINISHED = 'FINISHED',
}

export interface CollectorSettings {
  /** A prime; read once, when the collector is made. */
  readonly bucketCount: number;
  /** Hash keys the fine stage keeps between two analyses; more are dropped. */
  readonly fineQueueMax: number;
  /** The others read at each use, as Pegasus's mutable flags are. */
  hotBucketThreshold(): number;
  hotKeyThreshold(): number;
  maxSecondsToDetect(): number;
  nowSeconds(): number;
}

/** Pegasus's fine-stage queue holds this many captured keys. */
export const FINE_QUEUE_MAX = 1000;

/** The names Pegasus's hints print: `replication::hotkey_type::READ`, `hotkey_collector_state::STOPPED`. */
const typeName = (type: HotkeyType): string => `replication::hotkey_type::${HotkeyType[type]}`;
const stateName = (state: CollectorState): string => `hotkey_collector_state::${state}`;

export class HotkeyCollector {
  private currentState = CollectorState.STOPPED;
  private startedAtSeconds = 0;
  private readonly buckets: number[];
  private hotBucket = -1;
  private fineQueue: Array<{ hashKey: Buffer; weight: number }> = [];
  private hotKey: Buffer | undefined;

  constructor(readonly type: HotkeyType, private readonly settings: CollectorSettings) {
    this.buckets = new Array<number>(settings.bucketCount).fill(0);
  }

  get state(): CollectorState {
    return this.currentState;
  }

  /** True while fed keys count: the data plane skips the work of finding them otherwise. */
  get detecting(): boolean {
    return this.currentState === CollectorState.COARSE_DETECTING || this.currentState === CollectorState.FINE_DETECTING;
  }

  /** Counts one request's hash key; a weight below 1 counts as 1 (a read that found nothing still read). */
  capture(hashKey: Buffer, weight: number): void {
    const counted = weight > 0 ? weight : 1;
    if (this.currentState === CollectorState.COARSE_DETECTING) {
      this.buckets[bucketOf(hashKey, this.settings.bucketCount)]! += counted;
    } else if (this.currentState === CollectorState.FINE_DETECTING) {
      if (bucketOf(hashKey, this.settings.bucketCount) !== this.hotBucket) return;
      // A full queue drops the key, as Pegasus's bounded queue does.
      if (this.fineQueue.length < this.settings.fineQueueMax) this.fineQueue.push({ hashKey: Buffer.from(hashKey), weight: counted });
    }
  }

  /** One analysis: stops a detection whose time is up, else lets the current stage decide on what it counted. */
  analyse(): void {
    if (!this.detecting) return;
    if (this.settings.nowSeconds() >= this.startedAtSeconds + this.settings.maxSecondsToDetect()) {
      this.stop();
      return;
    }
    if (this.currentState === CollectorState.COARSE_DETECTING) this.analyseCoarse();
    else this.analyseFine();
  }

  /** Answers START, STOP and QUERY as Pegasus's collector does. */
  handle(action: DetectAction): DetectHotkeyResponse {
    switch (action) {
      case DetectAction.START:
        return this.start();
      case DetectAction.STOP:
        this.stop();
        return { err: 'ERR_OK' };
      case DetectAction.QUERY:
        if (this.currentState !== CollectorState.FINISHED) {
          return { err: 'ERR_BUSY', errHint: `Can't get hotkey now, now state: ${stateName(this.currentState)}` };
        }
        return { err: 'ERR_OK', hotkeyResult: cEscape(this.hotKey!) };
    }
  }

  private start(): DetectHotkeyResponse {
    switch (this.currentState) {
      case CollectorState.COARSE_DETECTING:
      case CollectorState.FINE_DETECTING:
        return { err: 'ERR_BUSY', errHint: `still detecting ${typeName(this.type)} hotkey, state is ${stateName(this.currentState)}` };
      case CollectorState.FINISHED:
        return {
          err: 'ERR_BUSY',
          errHint: `${typeName(this.type)} hotkey result has been found: ${cEscape(this.hotKey!)}, you can send a stop rpc to restart hotkey detection`,
        };
      case CollectorState.STOPPED:
        this.currentState = CollectorState.COARSE_DETECTING;
        this.startedAtSeconds = this.settings.nowSeconds();
        return { err: 'ERR_OK', errHint: `starting to detect ${typeName(this.type)} hotkey` };
    }
  }

  /**
   * Back to STOPPED with nothing counted. The found bucket and key are forgotten too (Pegasus
   * keeps them, so a later detection could report the key of an earlier one).
   */
  private stop(): void {
    this.currentState = CollectorState.STOPPED;
    this.buckets.fill(0);
    this.hotBucket = -1;
    this.fineQueue = [];
    this.hotKey = undefined;
  }

  private analyseCoarse(): void {
    const counts = [...this.buckets];
    this.buckets.fill(0);
    const hot = findOutlierIndex(counts, this.settings.hotBucketThreshold());
    if (hot === -1) return;
    this.hotBucket = hot;
    this.currentState = CollectorState.FINE_DETECTING;
  }

  private analyseFine(): void {
    const queued = this.fineQueue;
    this.fineQueue = [];
    const weights = new Map<string, { hashKey: Buffer; weight: number }>();
    for (const { hashKey, weight } of queued) {
      const id = hashKey.toString('latin1');
      const entry = weights.get(id);
      if (entry) entry.weight += weight;
      else weights.set(id, { hashKey, weight });
    }
    if (weights.size === 0) return;
    let heaviest: { hashKey: Buffer; weight: number } | undefined;
    for (const entry of weights.values()) {
      if (!heaviest || entry.weight > heaviest.weight) heaviest = entry;
    }
    // With one or two keys left after both stages the heaviest is taken as it is, as Pegasus does.
    const counts = [...weights.values()].map((entry) => entry.weight);
    if (counts.length >= 3 && findOutlierIndex(counts, this.settings.hotKeyThreshold()) === -1) return;
    // Pegasus takes an empty result for "none found", so the empty hash key is never reported.
    if (heaviest!.hashKey.length === 0) return;
    this.hotKey = heaviest!.hashKey;
    this.currentState = CollectorState.FINISHED;
  }
}
