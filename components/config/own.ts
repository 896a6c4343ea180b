/**
 * Lookups of user-named keys (SSH key names, node names, stack names, flags, policy names) as
 * own properties only. A plain `obj[key]` finds Object.prototype's members for keys such as
 * `constructor`, `toString`, `hasOwnProperty` or `valueOf` (functions), and an assignment
 * `obj["__proto__"] = v` replaces the object's prototype instead of adding a key.
 */

/** Does `o` have `key` as an own property (never through its prototype)? */
export function hasOwn(o: object | undefined | null, key: PropertyKey): boolean {
    return o !== undefined && o !== null && Object.prototype.hasOwnProperty.call(o, key);
}

/** `o[key]` when `key` is an own property of `o`, else undefined. */
export function ownGet<T>(o: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
    return hasOwn(o, key) ? (o as Record<string, T>)[key] : undefined;
}

/** Set `o[key] = value` as an own, enumerable property, `__proto__` included. */
export function setOwn<T>(o: { [key: string]: T | undefined }, key: string, value: T): void {
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
