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
// The range every store holds: Postgres and DuckDB have no year 0 (JS writes one as 0000, which
// Postgres refuses), and JS prints years past 9999 with a sign that DuckDB's cast refuses.
const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * What a write may hold beyond its type. `maxValueBytes` bounds one value (a string's UTF-8 bytes,
 * a JSON value's serialized bytes): the buffer, the mirror and the Parquet writer hold values
 * whole, and Postgres caps a jsonb snapshot at 255 MB.
 */
export interface ValuePolicy {
  maxValueBytes: number;
}

/** The default of MAX_VALUE_BYTES: 16 MiB. */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_VALUE_POLICY: ValuePolicy = { maxValueBytes: DEFAULT_MAX_VALUE_BYTES };

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** A UUID's 128 bits as an unsigned integer, big-endian (as binary COPY and DuckDB's UUID give them). */
export function uuidToBigInt(uuid: string): bigint {
  return BigInt(`0x${uuid.replaceAll('-', '')}`);
}

/** The UUID text, lowercase, of a 128-bit unsigned integer (uuidToBigInt's inverse). */
export function uuidFromBigInt(bits: bigint): string {
  const hex = bits.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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

function refuse(entityName: string, attribute: Attribute, reason: string): never {
  throw new ValidationError(`${entityName}.${attribute.name}: ${reason}`);
}

/** Postgres text and jsonb cannot hold U+0000; refused rather than altered. */
function checkText(entityName: string, attribute: Attribute, text: string, policy: ValuePolicy): void {
  if (text.includes('\u0000')) refuse(entityName, attribute, 'the NUL character (U+0000) is not allowed in strings');
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long strings need counting.
  if (text.length * 3 > policy.maxValueBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > policy.maxValueBytes) {
      refuse(entityName, attribute, `the value is ${bytes} bytes, over the limit of ${policy.maxValueBytes} bytes (MAX_VALUE_BYTES)`);
    }
  }
}

/** Whether a JSON value holds a NUL character in any string or key. */
function jsonHasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(jsonHasNul);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || jsonHasNul(inner));
  }
  return false;
}

/** Checks `value` against the attribute's type and the value policy, and returns the in-memory form. */
export function coerceAttributeValue(
  entityName: string,
  attribute: Attribute,
  value: unknown,
  policy: ValuePolicy = DEFAULT_VALUE_POLICY,
): AttributeValue {
  if (value === null || value === undefined) {
    if (attribute.required) throw new ValidationError(`${entityName}.${attribute.name}: a value is required`);
    return null;
  }
  switch (attribute.type) {
    case 'string':
      if (typeof value !== 'string') return fail(entityName, attribute, value, 'a string');
      checkText(entityName, attribute, value, policy);
      return value;
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
      if (date.getTime() < TIMESTAMP_MIN_MS || date.getTime() > TIMESTAMP_MAX_MS) {
        const shown = value instanceof Date ? date.toISOString() : String(value);
        refuse(entityName, attribute, `${shown} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z (in UTC)`);
      }
      return date;
    }
    case 'date': {
      if (value instanceof Date && !Number.isNaN(value.getTime())) {
        // graphql-scalars' Date hands over a Date at UTC midnight.
        if (value.getTime() < TIMESTAMP_MIN_MS || value.getTime() > TIMESTAMP_MAX_MS) {
          refuse(entityName, attribute, `${value.toISOString().slice(0, 10)} is outside 0001-01-01..9999-12-31`);
        }
        return value.toISOString().slice(0, 10);
      }
      const match = typeof value === 'string' ? DATE_PATTERN.exec(value) : null;
      if (!match) return fail(entityName, attribute, value, 'a date YYYY-MM-DD');
      const probe = new Date(`${value as string}T00:00:00Z`);
      if (Number.isNaN(probe.getTime()) || probe.toISOString().slice(0, 10) !== value) {
        return fail(entityName, attribute, value, 'a valid calendar date YYYY-MM-DD');
      }
      if (match[1] === '0000') refuse(entityName, attribute, `${value as string} is outside 0001-01-01..9999-12-31`);
      return value as string;
    }
    case 'ref':
      if (typeof value === 'string' && UUID_PATTERN.test(value)) return value.toLowerCase();
      return fail(entityName, attribute, value, 'a UUID (row_id of the referenced row)');
    case 'json': {
      if (jsonHasNul(value)) refuse(entityName, attribute, 'the NUL character (U+0000) is not allowed anywhere in JSON values');
      const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
      if (bytes > policy.maxValueBytes) {
        refuse(entityName, attribute, `the value is ${bytes} bytes as JSON, over the limit of ${policy.maxValueBytes} bytes (MAX_VALUE_BYTES)`);
      }
      return value as JsonValue;
    }
  }
}

/** The int64 values a JavaScript Number holds exactly. */
export const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER);
export const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/** The JSON form stored in change_log snapshots; int64 beyond 2^53 stays exact as a string. */
export function toSnapshotJson(attribute: Attribute, value: AttributeValue): JsonValue {
  if (value === null) return null;
  switch (attribute.type) {
    case 'int': {
      const n = value as bigint;
      return n >= MIN_SAFE_BIGINT && n <= MAX_SAFE_BIGINT ? Number(n) : n.toString();
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
