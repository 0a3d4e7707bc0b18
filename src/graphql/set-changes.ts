// Hasura's `_set` and `_inc` applied to a row in memory (pure): the values a set-based update writes.
import type { AttributeValue, EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** One update's changes: coerced `_set` values and `_inc` amounts (bigint for int, number for float). */
export interface RowChange {
  set: Readonly<Record<string, AttributeValue>>;
  inc: Readonly<Record<string, bigint | number>>;
}

/** The attributes `_inc` takes: int and float (Hasura: numeric columns). */
export function incrementable(entity: EntitySchema): string[] {
  return entity.attributes.filter((a) => a.type === 'int' || a.type === 'float').map((a) => a.name);
}

/** Checks an `_inc` input; `at` names it in errors (e.g. `updates[1]._inc`). */
export function parseInc(entity: EntitySchema, input: Readonly<Record<string, unknown>> | null | undefined, at: string): Record<string, bigint | number> {
  const amounts: Record<string, bigint | number> = {};
  for (const [name, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue;
    const attribute = entity.attributes.find((a) => a.name === name);
    if (!attribute || (attribute.type !== 'int' && attribute.type !== 'float')) {
      throw new ValidationError(`${at}.${name}: ${entity.name} has no int or float attribute "${name}" to increment`);
    }
    if (value === null) throw new ValidationError(`${at}.${name}: null is not an amount to add`);
    if (attribute.type === 'int') {
      const n =
        typeof value === 'bigint' ? value
        : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value)
        : typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value)
        : null;
      if (n === null || n < INT64_MIN || n > INT64_MAX) throw new ValidationError(`${at}.${name}: expected a 64-bit integer, got ${JSON.stringify(String(value))}`);
      amounts[name] = n;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(`${at}.${name}: expected a finite number`);
      amounts[name] = value;
    }
  }
  return amounts;
}

/** Refuses an update that changes nothing, or names one attribute in both `_set` and `_inc`. */
export function checkChange(change: RowChange, at: string): void {
  const set = Object.keys(change.set);
  const inc = Object.keys(change.inc);
  if (set.length === 0 && inc.length === 0) throw new ValidationError(`${at}: at least any one of _set, _inc is expected (naming an attribute to change)`);
  const both = set.find((name) => name in change.inc);
  if (both) throw new ValidationError(`${at}: "${both}" is in both _set and _inc; change it with one of them`);
}

/**
 * The row's values after `change`: `_set` replaces, `_inc` adds; as in SQL, NULL + n stays NULL.
 * A sum outside the attribute's range is a ValidationError naming the row.
 */
export function applyChange(
  entity: EntitySchema,
  rowId: string,
  values: Readonly<Record<string, AttributeValue>>,
  change: RowChange,
  at: string,
): Record<string, AttributeValue> {
  const next: Record<string, AttributeValue> = { ...values, ...change.set };
  for (const [name, amount] of Object.entries(change.inc)) {
    const current = values[name] ?? null;
    if (current === null) continue;
    if (typeof amount === 'bigint') {
      const sum = (current as bigint) + amount;
      if (sum < INT64_MIN || sum > INT64_MAX) {
        throw new ValidationError(`${at}.${name}: ${current} + ${amount} on ${entity.name} row ${rowId} is outside the 64-bit integer range`);
      }
      next[name] = sum;
    } else {
      const sum = (current as number) + amount;
      if (!Number.isFinite(sum)) throw new ValidationError(`${at}.${name}: ${current} + ${amount} on ${entity.name} row ${rowId} is not a finite number`);
      next[name] = sum;
    }
  }
  return next;
}
