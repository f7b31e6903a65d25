/** `items` in consecutive slices of at most `size` (the last may be shorter); none for none. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`chunk size must be a positive whole number, not ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs `work` on every item, at most `parallel` at once, slice after slice; the results in the
 * items' order. Bounded, so a thousand ids stay within a request's limits on subrequests.
 */
export async function inSlices<T, R>(
  items: readonly T[],
  parallel: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (const slice of chunks(items, parallel)) results.push(...(await Promise.all(slice.map(work))));
  return results;
}
