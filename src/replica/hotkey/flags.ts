// Hot-key detection's settings, with Pegasus's names, sections and defaults.
import { defineFlag } from '../../config/index.ts';

/** True for a prime of at least 3: the coarse stage's bucket count must be one. */
export function isValidBucketCount(count: number): boolean {
  if (!Number.isInteger(count) || count < 3) return false;
  for (let divisor = 2; divisor * divisor <= count; divisor++) {
    if (count % divisor === 0) return false;
  }
  return true;
}

export const hotkeyBucketsNum = defineFlag({
  section: 'pegasus.server',
  name: 'hotkey_buckets_num',
  type: 'FV_UINT32',
  default: 37,
  description: 'the number of data capture hash buckets',
  validator: isValidBucketCount,
});

export const hotBucketVarianceThreshold = defineFlag({
  section: 'pegasus.server',
  name: 'hot_bucket_variance_threshold',
  type: 'FV_UINT32',
  default: 7,
  description: 'the variance threshold to detect hot bucket during coarse analysis of hotkey detection',
  mutable: true,
});

export const hotKeyVarianceThreshold = defineFlag({
  section: 'pegasus.server',
  name: 'hot_key_variance_threshold',
  type: 'FV_UINT32',
  default: 5,
  description: 'the variance threshold to detect hot key during fine analysis of hotkey detection',
  mutable: true,
});

export const maxSecondsToDetectHotkey = defineFlag({
  section: 'pegasus.server',
  name: 'max_seconds_to_detect_hotkey',
  type: 'FV_UINT32',
  default: 150,
  description: "the max time (in seconds) allowed to capture hotkey, will stop if hotkey's not found",
  mutable: true,
});

export const hotkeyAnalyseTimeIntervalS = defineFlag({
  section: 'pegasus.server',
  name: 'hotkey_analyse_time_interval_s',
  type: 'FV_INT32',
  default: 10,
  description: 'hotkey analyse interval in seconds',
  // A zero or negative interval would make the analysis timer spin.
  validator: (value) => value >= 1,
});
