// Attribute values: checking and converting them between input, the in-memory form and change_log JSON.
import { ValidationError } from '../errors/index.js';
import type { Attribute } from './definitions.js';

/**
 * The in-memory form of an attribute value, by type: string/enum -> string, int -> bigint,
 * float -> number, boolean -> boolean, timestamp -> Date, date -> 'YYYY-MM-DD', ref -> UUID string,
 * json -> any JSON value. Absent values are null.
 */
export type AttributeValue = string | bigint | number | boolean | Date | JsonValue | null;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** Checks a UUID and returns its canonical lowercase form. */
export function parseUuid(value: unknown, what: string): string {
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
    throw new ValidationError(`${what}: ${JSON.stringify(value)} is not a UUID`);
  }
  return value.toLowerCase();
}

function fail(entityName: string, attribute: Attribute, value: unknown, expected: string): never {
  const shown = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  throw new ValidationError(`${entityName}.${attribute.name}: expected ${expected}, got ${shown}`);
}

/** Checks `value` against the attribute's type and returns the in-memory form. */
export function coerceAttributeValue(entityName: string, attribute: Attribute, value: unknown): AttributeValue {
  if (value === null || value === undefined) {
    if (attribute.required) throw new ValidationError(`${entityName}.${attribute.name}: a value is required`);
    return null;
  }
  switch (attribute.type) {
    case 'string':
      return typeof value === 'string' ? value : fail(entityName, attribute, value, 'a string');
    case 'enum':
      if (typeof value === 'string' && attribute.values!.includes(value)) return value;
      return fail(entityName, attribute, value, `one of ${attribute.values!.join(', ')}`);
    case 'int': {
      let n: bigint | undefined;
      if (typeof value === 'bigint') n = value;
      else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
      else if (typeof value === 'string' && /^-?\d+$/.test(value)) n = BigInt(value);
      if (n === undefined || n < INT64_MIN || n > INT64_MAX) return fail(entityName, attribute, value, 'a 64-bit integer');
      return n;
    }
    case 'float':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      return fail(entityName, attribute, value, 'a finite number');
    case 'boolean':
      return typeof value === 'boolean' ? value : fail(entityName, attribute, value, 'true or false');
    case 'timestamp': {
      const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
      if (!date || Number.isNaN(date.getTime())) return fail(entityName, attribute, value, 'an ISO-8601 timestamp');
      return date;
    }
    case 'date': {
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10);
      const match = typeof value === 'string' ? DATE_PATTERN.exec(value) : null;
      if (!match) return fail(entityName, attribute, value, 'a date YYYY-MM-DD');
      const probe = new Date(`${value as string}T00:00:00Z`);
      if (Number.isNaN(probe.getTime()) || probe.toISOString().slice(0, 10) !== value) {
        return fail(entityName, attribute, value, 'a valid calendar date YYYY-MM-DD');
      }
      return value as string;
    }
    case 'ref':
      if (typeof value === 'string' && UUID_PATTERN.test(value)) return value.toLowerCase();
      return fail(entityName, attribute, value, 'a UUID (row_id of the referenced row)');
    case 'json':
      return value as JsonValue;
  }
}

/** The JSON form stored in change_log snapshots; int64 beyond 2^53 stays exact as a string. */
export function toSnapshotJson(attribute: Attribute, value: AttributeValue): JsonValue {
  if (value === null) return null;
  switch (attribute.type) {
    case 'int': {
      const n = value as bigint;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
    }
    case 'timestamp':
      return (value as Date).toISOString();
    default:
      return value as JsonValue;
  }
}

/** Inverse of toSnapshotJson. */
export function fromSnapshotJson(attribute: Attribute, json: JsonValue | undefined): AttributeValue {
  if (json === null || json === undefined) return null;
  switch (attribute.type) {
    case 'int':
      return BigInt(json as number | string);
    case 'timestamp':
      return new Date(json as string);
    default:
      return json;
  }
}
