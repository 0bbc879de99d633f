// The two pure rules the collector stands on: which bucket a hash key falls in, and whether one
// count stands far above the others (Pegasus's find_outlier_index, the 68–95–99.7 rule its
// hotspot calculator also uses).

/**
 * The coarse stage's bucket of a hash key. Pegasus uses boost::hash_range; any hash spreading
 * keys evenly does the same job, and the bucket never leaves the server. FNV-1a, 32 bits.
 */
export function bucketOf(hashKey: Uint8Array, bucketCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of hashKey) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) % bucketCount;
}

/**
 * The index of the largest count when it is an outlier, else -1. The largest count is compared
 * with the mean and the sample standard deviation of all the others: it is an outlier when it
 * lies at least `threshold` deviations above that mean. When the others are all equal (no
 * deviation), it is an outlier when it is above them at all. Ties go to the first index.
 */
export function findOutlierIndex(counts: readonly number[], threshold: number): number {
  if (counts.length <= 2) throw new RangeError(`an outlier needs more than 2 counts, got ${counts.length}`);
  let hotIndex = -1;
  let hotValue = 0;
  let sum = 0;
  counts.forEach((count, index) => {
    sum += count;
    if (count > hotValue) {
      hotIndex = index;
      hotValue = count;
    }
  });
  if (hotIndex === -1) return -1;
  const othersMean = (sum - hotValue) / (counts.length - 1);
  let squares = 0;
  counts.forEach((count, index) => {
    if (index !== hotIndex) squares += (count - othersMean) ** 2;
  });
  const deviation = Math.sqrt(squares / (counts.length - 2));
  if (deviation === 0) return hotValue > othersMean ? hotIndex : -1;
  return (hotValue - othersMean) / deviation >= threshold ? hotIndex : -1;
}
