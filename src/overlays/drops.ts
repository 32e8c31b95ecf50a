// Liquid drops for free-form maps: a missing key reads as null instead of a strict-variable error.
import { Drop } from 'liquidjs';

/** A free-form map (tags, resources): a missing key reads as null instead of a strict-variable error. */
export class MapDrop extends Drop {
  constructor(entries: Record<string, unknown>) {
    super();
    Object.assign(this, entries);
  }
  override liquidMethodMissing(): null {
    return null;
  }
}

/** Free-form YAML (resources, disks): every nested map reads missing keys as null. */
export function deepDrop(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepDrop);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = deepDrop(x);
    return new MapDrop(o);
  }
  return v;
}
