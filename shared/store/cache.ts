/**
 * A small in-memory cache for configuration read on hot paths (connections, the accounts a
 * group or connection maps to). It lives as long as a warm Lambda container, entries for a
 * short TTL, so configuration changes take effect within that TTL. Promises are cached, so
 * concurrent callers share one read; failed reads are not remembered.
 */
export type CacheOptions<A extends unknown[]> = {
  now?: () => number;
  maxEntries?: number;
  key?: (...args: A) => string;
};

export function cached<A extends unknown[], V>(
  ttlMs: number,
  load: (...args: A) => Promise<V>,
  { now = Date.now, maxEntries = 1000, key = (...args) => args.join('\u0000') }: CacheOptions<A> = {},
): (...args: A) => Promise<V> {
  const entries = new Map<string, { expires: number; value: Promise<V> }>();
  return (...args) => {
    const id = key(...args);
    const hit = entries.get(id);
    if (hit && hit.expires > now()) return hit.value;
    const value = load(...args);
    // Bounded, oldest first, so a flood of unknown ids cannot grow it without limit.
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
    entries.set(id, { expires: now() + ttlMs, value });
    // A failed read must not be remembered (nor evict a newer entry that replaced it).
    value.catch(() => {
      if (entries.get(id)?.value === value) entries.delete(id);
    });
    return value;
  };
}
