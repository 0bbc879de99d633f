// Hot-key detection (Pegasus's hotkey_collector): the collectors and the rules they run on.
export { HotkeyCollector, CollectorState, FINE_QUEUE_MAX, type CollectorSettings } from './collector.ts';
export { HotkeyDetectors, collectorSettingsFromFlags, type HotkeyHost } from './detectors.ts';
export { readCaptures, writeCaptures, type Captures, type KeyCapture } from './capture.ts';
export { bucketOf, findOutlierIndex } from './outlier.ts';
export { cEscape } from './escape.ts';
export { hotkeyAnalyseTimeIntervalS, hotkeyBucketsNum, hotBucketVarianceThreshold, hotKeyVarianceThreshold, maxSecondsToDetectHotkey, isValidBucketCount } from './flags.ts';
