// jsonb's operators (Postgres semantics) as DuckDB expressions over JSON text: containment (@>, <@),
// equality and key tests (?|, ?&). The operand is a constant, so its structure is unrolled at compile
// time into json_extract/json_type tests; every string (keys, paths, values) is a bound parameter.
import type { JsonValue } from '../catalog/index.js';
import type { Params } from './duckdb-sql.js';

const NUMBER_TYPES = `('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE', 'UHUGEINT')`;

/** JSON pointer of one object key (`~` and `/` escaped as RFC 6901 says). */
function pointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class JsonSql {
  private lambdas = 0;
  constructor(private readonly params: Params) {}

  private text(value: string): string {
    return this.params.add('string', value);
  }

  private lambda(): string {
    return `j${++this.lambdas}`;
  }

  private member(h: string, key: string): string {
    return `json_extract(${h}, ${this.text(pointer(key))})`;
  }

  private elements(h: string): string {
    return `json_extract(${h}, '$[*]')`;
  }

  /** Some element of the array `h` satisfies `test`. */
  private some(h: string, test: (x: string) => string): string {
    const x = this.lambda();
    return `(len(list_filter(${this.elements(h)}, ${x} -> coalesce(${test(x)}, false))) > 0)`;
  }

  /** Every element of the array `h` satisfies `test`. */
  private every(h: string, test: (x: string) => string): string {
    const x = this.lambda();
    return `(len(list_filter(${this.elements(h)}, ${x} -> NOT coalesce(${test(x)}, false))) = 0)`;
  }

  /** `h` is the scalar `s` (numbers compare as numbers, as jsonb's do). */
  scalarEquals(h: string, s: JsonValue): string {
    if (s === null) return `(json_type(${h}) = 'NULL')`;
    if (typeof s === 'boolean') return `(json_type(${h}) = 'BOOLEAN' AND json_extract_string(${h}, '$') = ${this.text(String(s))})`;
    if (typeof s === 'number') return `(json_type(${h}) IN ${NUMBER_TYPES} AND TRY_CAST(json_extract_string(${h}, '$') AS DOUBLE) = ${this.params.add('float', s)}::DOUBLE)`;
    return `(json_type(${h}) = 'VARCHAR' AND json_extract_string(${h}, '$') = ${this.text(s as string)})`;
  }

  /** `h @> needle`; at the top level an array also contains a scalar element (jsonb's exception). */
  contains(h: string, needle: JsonValue, top: boolean): string {
    if (isObject(needle)) {
      const members = Object.entries(needle).map(([k, v]) => `coalesce(${this.contains(this.member(h, k), v, false)}, false)`);
      return `(json_type(${h}) = 'OBJECT'${members.map((m) => ` AND ${m}`).join('')})`;
    }
    if (Array.isArray(needle)) {
      const items = needle.map((e) => ` AND ${this.some(h, (x) => this.contains(x, e, false))}`);
      return `(json_type(${h}) = 'ARRAY'${items.join('')})`;
    }
    const equal = this.scalarEquals(h, needle);
    return top ? `(${equal} OR (json_type(${h}) = 'ARRAY' AND ${this.some(h, (x) => this.scalarEquals(x, needle))}))` : equal;
  }

  /** `h <@ haystack`: `haystack @> h`, unrolled over the constant haystack. */
  containedIn(h: string, haystack: JsonValue, top: boolean): string {
    if (isObject(haystack)) {
      const keys = Object.keys(haystack);
      const members = keys.map(
        (k) => ` AND (NOT list_contains(json_keys(${h}), ${this.text(k)}) OR coalesce(${this.containedIn(this.member(h, k), haystack[k]!, false)}, false))`,
      );
      return `(json_type(${h}) = 'OBJECT' AND list_has_all(${this.params.addList('string', keys)}::VARCHAR[], json_keys(${h}))${members.join('')})`;
    }
    if (Array.isArray(haystack)) {
      const inSome = (x: string) => (haystack.length === 0 ? 'false' : `(${haystack.map((e) => `coalesce(${this.containedIn(x, e, false)}, false)`).join(' OR ')})`);
      const array = `(json_type(${h}) = 'ARRAY' AND ${this.every(h, inSome)})`;
      const scalars = haystack.filter((e) => !isObject(e) && !Array.isArray(e));
      if (!top || scalars.length === 0) return array;
      return `(${array} OR ${scalars.map((s) => this.scalarEquals(h, s)).join(' OR ')})`;
    }
    return this.scalarEquals(h, haystack);
  }

  /** `h = value` as jsonb compares: same structure, object keys in any order. */
  equals(h: string, value: JsonValue): string {
    if (isObject(value)) {
      const entries = Object.entries(value);
      const members = entries.map(([k, v]) => ` AND coalesce(${this.equals(this.member(h, k), v)}, false)`);
      return `(json_type(${h}) = 'OBJECT' AND len(json_keys(${h})) = ${entries.length}${members.join('')})`;
    }
    if (Array.isArray(value)) {
      const items = value.map((e, i) => ` AND coalesce(${this.equals(`json_extract(${h}, ${this.text(`$[${i}]`)})`, e)}, false)`);
      return `(json_type(${h}) = 'ARRAY' AND json_array_length(${h}) = ${value.length}${items.join('')})`;
    }
    return this.scalarEquals(h, value);
  }

  /** `h ? key`: a top-level key of an object, a string element of an array, or the string itself. */
  hasKey(h: string, key: string): string {
    const k = this.text(key);
    const element = (x: string) => `(json_type(${x}) = 'VARCHAR' AND json_extract_string(${x}, '$') = ${k})`;
    return `(CASE json_type(${h}) WHEN 'OBJECT' THEN list_contains(json_keys(${h}), ${k}) WHEN 'ARRAY' THEN ${this.some(h, element)} WHEN 'VARCHAR' THEN ${element(h)} ELSE false END)`;
  }
}

/** A jsonb test of the JSON text `column` that is NULL (unknown) exactly when the value is NULL. */
function known(column: string, test: string): string {
  return `(CASE WHEN ${column} IS NULL THEN CAST(NULL AS BOOLEAN) ELSE coalesce(${test}, false) END)`;
}

export function jsonContainsSql(params: Params, column: string, value: JsonValue, direction: 'contains' | 'contained_in'): string {
  const sql = new JsonSql(params);
  return known(column, direction === 'contains' ? sql.contains(column, value, true) : sql.containedIn(column, value, true));
}

export function jsonEqualsSql(params: Params, column: string, value: JsonValue): string {
  return known(column, new JsonSql(params).equals(column, value));
}

export function hasKeySql(params: Params, column: string, keys: readonly string[], mode: 'any' | 'all'): string {
  if (keys.length === 0) return known(column, mode === 'all' ? 'true' : 'false');
  const sql = new JsonSql(params);
  return known(column, `(${keys.map((k) => sql.hasKey(column, k)).join(mode === 'all' ? ' AND ' : ' OR ')})`);
}
