// Binds Hasura's boolean expressions (`where`, as GraphQL hands them over) into the filter IR of the
// query room: names resolve against the catalog, operators into meanings, values into typed literals,
// and every mistake is a ValidationError naming the path of the bad input. Hasura's operator names
// live here and in bool-exp.ts only.
import { TYPE_MAPPING, type Attribute, type AttributeType, type Catalog, type EntitySchema, type JsonValue } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import {
  AGGREGATE_VALUE,
  MAX_IN_VALUES,
  SYSTEM_COLUMNS,
  TRUE,
  allOf,
  coerceFilterValue,
  escapeLike,
  isTrue,
  type PredicateFunction,
  type ColumnRef,
  type CompareOp,
  type Filter,
} from '../query/index.js';

export interface BindOptions {
  /**
   * Session variables (the access-control hook): a string operand naming one (`X-Hasura-*`, any
   * case, Hasura's rule) is replaced by its value before coercion; a missing one is an error.
   */
  session?: (name: string) => string | undefined;
  /**
   * Checking a definition's filter at start, before any session exists: a session variable stands
   * for any value of its column's type (so the names, operators and shapes around it are checked).
   */
  anySessionValue?: boolean;
}

/**
 * A session variable's text as a value of a column's type: session variables are strings (HTTP
 * headers, JWT claims), cast the way Hasura casts them, for filters and presets alike.
 */
export function sessionValue(type: AttributeType, text: string, at: string): unknown {
  switch (type) {
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new ValidationError(`${at}: the session variable's value "${text}" is not a number`);
      return n;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new ValidationError(`${at}: the session variable's value "${text}" is not true or false`);
      return text === 'true';
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ValidationError(`${at}: the session variable's value is not JSON`);
      }
    default:
      return text;
  }
}

/** What a session variable stands for while a definition's filter is checked (anySessionValue). */
const ANY_SESSION_VALUE = Symbol('any session value');

/** A value of each column type, for a session variable while a definition is checked. */
function sampleOf(type: AttributeType, enumValues?: readonly string[]): unknown {
  const samples: Partial<Record<AttributeType, unknown>> = {
    int: 0n,
    float: 0,
    boolean: false,
    timestamp: new Date(0),
    date: '1970-01-01',
    ref: '00000000-0000-7000-8000-000000000000',
    enum: enumValues?.[0] ?? '',
    json: null,
  };
  return type in samples ? samples[type] : '';
}

const COMPARE_OPS: Record<string, CompareOp> = { _eq: 'eq', _neq: 'neq', _gt: 'gt', _gte: 'gte', _lt: 'lt', _lte: 'lte' };
const LIKE_OPS: Record<string, { negated: boolean; caseInsensitive: boolean }> = {
  _like: { negated: false, caseInsensitive: false },
  _nlike: { negated: true, caseInsensitive: false },
  _ilike: { negated: false, caseInsensitive: true },
  _nilike: { negated: true, caseInsensitive: true },
};
const REGEX_OPS: Record<string, { negated: boolean; caseInsensitive: boolean; similar: boolean }> = {
  _regex: { negated: false, caseInsensitive: false, similar: false },
  _nregex: { negated: true, caseInsensitive: false, similar: false },
  _iregex: { negated: false, caseInsensitive: true, similar: false },
  _niregex: { negated: true, caseInsensitive: true, similar: false },
  _similar: { negated: false, caseInsensitive: false, similar: true },
  _nsimilar: { negated: true, caseInsensitive: false, similar: true },
};
/** This gateway's text extras beyond Hasura: no wildcards, so no escaping for the caller. */
const TEXT_EXTRAS = ['_contains', '_starts_with'];
export const STRING_OPS = [...Object.keys(LIKE_OPS), ...Object.keys(REGEX_OPS), ...TEXT_EXTRAS];
export const JSON_OPS = ['_eq', '_neq', '_is_null', '_contains', '_contained_in', '_has_key', '_has_keys_any', '_has_keys_all'];

/** Which operators a column type takes (Hasura's, for its type, plus the text extras). */
export function operatorsOf(type: AttributeType): string[] {
  if (type === 'json') return JSON_OPS;
  if (type === 'boolean') return ['_eq', '_neq', '_is_null'];
  const base = ['_eq', '_neq', '_in', '_nin', '_is_null'];
  const ordered = TYPE_MAPPING[type].ordered && type !== 'enum' ? ['_gt', '_gte', '_lt', '_lte'] : [];
  return [...base, ...ordered, ...(type === 'string' ? STRING_OPS : [])];
}

/** The numeric aggregate predicates beyond Hasura's count. */
export const NUMERIC_AGGREGATES = ['sum', 'avg', 'min', 'max'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * SQL SIMILAR TO (always a whole-value match) as an RE2 pattern, as Postgres' similar_escape does:
 * `%` is any text, `_` one character, `\` escapes, `|*+?{}()[]` keep their regex meaning, and the
 * regex characters SIMILAR TO lacks (`.^$`) are literal.
 */
export function similarToRegex(pattern: string): string {
  let out = '';
  let inBracket = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw new Error('a SIMILAR TO pattern may not end with the escape character');
      out += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
    } else if (inBracket) {
      out += c === '\\' ? '\\\\' : c;
      if (c === ']') inBracket = false;
    } else if (c === '[') {
      inBracket = true;
      out += c;
      // A `]` first (after an optional `^`) is a member, not the end.
      if (pattern[i + 1] === '^') out += pattern[++i];
      if (pattern[i + 1] === ']') out += `\\${pattern[++i]}`;
    } else if (c === '%') out += '.*';
    else if (c === '_') out += '.';
    else if (c === '(') out += '(?:';
    else if ('.^$'.includes(c)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/**
 * Checks a pattern against the RE2 syntax DuckDB runs, so a mistake is the caller's error naming
 * its path, not a failed statement: JS's parser for the shared syntax, and the POSIX/Perl forms RE2
 * refuses (backreferences, lookaround) by name.
 */
export function checkRegex(pattern: string, at: string): void {
  const unsupported: [RegExp, string][] = [
    [/(^|[^\\])(\\\\)*\\[1-9]/, 'backreferences (\\1…\\9)'],
    [/\(\?<?[=!]/, 'lookaround ((?=…), (?!…), (?<=…), (?<!…))'],
  ];
  for (const [form, name] of unsupported) {
    if (form.test(pattern)) throw new ValidationError(`${at}: invalid regular expression: RE2 (DuckDB) has no ${name}`);
  }
  for (const match of pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) {
    if (Number(match[1]) > 1000 || Number(match[2] || 0) > 1000) throw new ValidationError(`${at}: invalid regular expression: RE2 (DuckDB) repeats at most 1000 times, got ${match[0]}`);
  }
  // JS's parser in its strict (unicode) mode refuses unknown escapes as RE2 does; RE2's own forms
  // (inline flags, (?P<name>…), \A \z \C \Q…\E, \pL, escaped punctuation) are shaped into JS first.
  const shaped = pattern
    .replace(/\\Q[\s\S]*?(\\E|$)/g, 'x')
    .replace(/\\([^A-Za-z0-9])/g, '\\.')
    .replace(/\\[Az]/g, '^')
    .replace(/\\[aC]/g, '.')
    .replace(/\\([pP])(\{[^}]*\}|[A-Za-z])/g, '\\$1{L}')
    .replace(/\(\?[imsU-]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<');
  try {
    new RegExp(shaped, 'u');
  } catch (error) {
    // A `{` or `}` that is no repetition is literal in RE2, an error in JS's strict mode.
    if (/quantifier/i.test((error as Error).message) && canCompileLoosely(shaped)) return;
    throw new ValidationError(`${at}: invalid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: \/.*\/u?: /, '')}`);
  }
}

function canCompileLoosely(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

class Binder {
  constructor(
    private readonly catalog: Catalog,
    private readonly options: BindOptions,
  ) {}

  /** A scalar operand, a session variable's value when it names one. */
  private operand(value: unknown, at: string): unknown {
    if (typeof value === 'string' && /^x-hasura-/i.test(value) && this.options.anySessionValue) return ANY_SESSION_VALUE;
    if (typeof value !== 'string' || !/^x-hasura-/i.test(value) || !this.options.session) return value;
    const resolved = this.options.session(value.toLowerCase()) ?? this.options.session(value);
    if (resolved === undefined) throw new ValidationError(`${at}: session variable "${value}" is not set`);
    return resolved;
  }

  private text(value: unknown, at: string): string {
    const text = this.operand(value, at);
    if (text === ANY_SESSION_VALUE) return '';
    if (typeof text !== 'string') throw new ValidationError(`${at}: expected a string`);
    return text;
  }

  private comparison(column: ColumnRef, spec: unknown, at: string, attribute?: Attribute, allowed = operatorsOf(column.type)): Filter {
    if (!isPlainObject(spec)) throw new ValidationError(`${at}: expected an object of operators such as {_eq: …}`);
    const items: Filter[] = [];
    const coerce = (value: unknown, path: string) => {
      const operand = this.operand(value, path);
      // A session variable's text is cast to the column's type first; at start it stands for any value.
      const typed =
        operand === ANY_SESSION_VALUE ? sampleOf(column.type, attribute?.values)
        : operand !== value ? sessionValue(column.type, operand as string, path)
        : operand;
      return coerceFilterValue(column.type, typed, path, attribute?.values);
    };
    for (const [op, value] of Object.entries(spec)) {
      const path = `${at}.${op}`;
      if (!allowed.includes(op)) throw new ValidationError(`${path}: unknown operator for ${column.type}; expected one of ${allowed.join(', ')}`);
      if (value === undefined) continue;
      if (op === '_is_null') {
        if (typeof value !== 'boolean') throw new ValidationError(`${path}: expected true or false`);
        items.push({ kind: 'is_null', column, isNull: value });
        continue;
      }
      if (value === null) throw new ValidationError(`${path}: null is not a value to compare with; use _is_null`);
      if (column.type === 'json') items.push(this.json(column, op, value, path));
      else if (op === '_in' || op === '_nin') {
        if (!Array.isArray(value)) throw new ValidationError(`${path}: expected a list`);
        if (value.length > MAX_IN_VALUES) throw new ValidationError(`${path}: ${value.length} values; at most ${MAX_IN_VALUES} are allowed`);
        items.push({ kind: 'in', column, values: value.map((v, i) => coerce(v, `${path}[${i}]`)), negated: op === '_nin' });
      } else if (op in LIKE_OPS) {
        const { negated, caseInsensitive } = LIKE_OPS[op]!;
        const pattern = this.text(value, path);
        // As Postgres says of it: `\` escapes the next character, so a pattern cannot end in one.
        if (/(^|[^\\])(\\\\)*\\$/.test(pattern)) throw new ValidationError(`${path}: a LIKE pattern must not end with the escape character \\ (write \\\\ for a backslash)`);
        const like: Filter = { kind: 'like', column, pattern, caseInsensitive };
        items.push(negated ? { kind: 'not', item: like } : like);
      } else if (op in REGEX_OPS) {
        const { negated, caseInsensitive, similar } = REGEX_OPS[op]!;
        const text = this.text(value, path);
        let pattern = text;
        if (similar) {
          try {
            pattern = similarToRegex(text);
          } catch (error) {
            throw new ValidationError(`${path}: invalid SIMILAR TO pattern: ${(error as Error).message}`);
          }
        }
        checkRegex(pattern, path);
        const regex: Filter = { kind: 'regex', column, pattern, caseInsensitive, whole: similar };
        items.push(negated ? { kind: 'not', item: regex } : regex);
      } else if (op === '_contains' || op === '_starts_with') {
        const text = escapeLike(this.text(value, path));
        items.push({ kind: 'like', column, pattern: op === '_contains' ? `%${text}%` : `${text}%`, caseInsensitive: false });
      } else {
        items.push({ kind: 'compare', column, op: COMPARE_OPS[op]!, value: coerce(value, path) });
      }
    }
    return allOf(items);
  }

  private json(column: ColumnRef, op: string, value: unknown, at: string): Filter {
    const keys = (): string[] => {
      if (!Array.isArray(value)) throw new ValidationError(`${at}: expected a list of keys`);
      if (value.length > MAX_IN_VALUES) throw new ValidationError(`${at}: ${value.length} keys; at most ${MAX_IN_VALUES} are allowed`);
      return value.map((k, i) => this.text(k, `${at}[${i}]`));
    };
    switch (op) {
      case '_eq':
        return { kind: 'json_equals', column, value: jsonValue(value, at) };
      case '_neq':
        return { kind: 'not', item: { kind: 'json_equals', column, value: jsonValue(value, at) } };
      case '_contains':
        return { kind: 'json_contains', column, value: jsonValue(value, at), direction: 'contains' };
      case '_contained_in':
        return { kind: 'json_contains', column, value: jsonValue(value, at), direction: 'contained_in' };
      case '_has_key':
        return { kind: 'has_key', column, keys: [this.text(value, at)], mode: 'any' };
      case '_has_keys_any':
        return { kind: 'has_key', column, keys: keys(), mode: 'any' };
      case '_has_keys_all':
        return { kind: 'has_key', column, keys: keys(), mode: 'all' };
      default:
        throw new Error(`no json operator ${op}`);
    }
  }

  /** A `<entity>_bool_exp`; `{}` is true. */
  where(entity: EntitySchema, where: unknown, at: string): Filter {
    if (!isPlainObject(where)) throw new ValidationError(`${at}: expected an object`);
    const items: Filter[] = [];
    for (const [key, value] of Object.entries(where)) {
      const path = `${at}.${key}`;
      if (value === undefined) continue;
      if (key === '_and' || key === '_or') {
        // GraphQL coerces a single object into a list of one; a JSON variable may not have been.
        const list = Array.isArray(value) ? value : value === null ? null : [value];
        if (!list) throw new ValidationError(`${path}: expected a list of conditions`);
        const parts = list.map((v, i) => (v === null || v === undefined ? TRUE : this.where(entity, v, `${path}[${i}]`)));
        items.push(key === '_and' ? allOf(parts) : parts.length === 1 ? parts[0]! : { kind: 'or', items: parts });
      } else if (key === '_not') {
        if (value === null) continue;
        items.push({ kind: 'not', item: this.where(entity, value, path) });
      } else if (key in SYSTEM_COLUMNS) {
        items.push(this.comparison(SYSTEM_COLUMNS[key]!, value, path));
      } else {
        items.push(this.field(entity, key, value, path));
      }
    }
    return allOf(items);
  }

  private field(entity: EntitySchema, key: string, value: unknown, path: string): Filter {
    const attribute = entity.attributes.find((a) => a.name === key);
    if (attribute && attribute.type !== 'ref') return this.comparison({ name: attribute.name, type: attribute.type }, value, path, attribute);
    if (attribute) {
      const target = this.catalog.entity(attribute.refEntity!);
      // Hasura's meaning, also when only the referenced row_id is filtered or nothing at all: the
      // referenced row exists (is live) and matches. The compiler turns pinned row_ids into a
      // comparison on the ref column, so that form stays fast.
      return { kind: 'ref', column: { name: attribute.name, type: 'ref' }, target, filter: this.where(target, value, path) };
    }
    const relations = this.catalog.reverseRelations(entity);
    const relation = relations.get(key);
    if (relation) {
      const via: ColumnRef = { name: relation.attribute.name, type: 'ref' };
      return { kind: 'exists_related', target: relation.from, via, filter: this.where(relation.from, value, path) };
    }
    const aggregated = key.endsWith('_aggregate') ? relations.get(key.slice(0, -'_aggregate'.length)) : undefined;
    if (aggregated) return this.aggregatePredicates(aggregated.from, { name: aggregated.attribute.name, type: 'ref' }, value, path);
    throw new ValidationError(`${path}: ${entity.name} has no field "${key}"`);
  }

  /** `<rel>_aggregate: {count: {predicate, filter, arguments, distinct}, bool_and: {arguments, predicate, …}, sum: {…}}`. */
  private aggregatePredicates(target: EntitySchema, via: ColumnRef, spec: unknown, at: string): Filter {
    if (!isPlainObject(spec)) throw new ValidationError(`${at}: expected an object such as {count: {predicate: {_gt: 0}}}`);
    const items: Filter[] = [];
    for (const [fn, value] of Object.entries(spec)) {
      const path = `${at}.${fn}`;
      if (value === undefined || value === null) continue;
      const logical = fn === 'bool_and' || fn === 'bool_or';
      if (fn !== 'count' && !logical && !(NUMERIC_AGGREGATES as readonly string[]).includes(fn)) {
        throw new ValidationError(`${path}: unknown aggregate; expected one of count, bool_and, bool_or, ${NUMERIC_AGGREGATES.join(', ')}`);
      }
      if (!isPlainObject(value)) throw new ValidationError(`${path}: expected an object {predicate, filter, arguments, distinct}`);
      for (const field of Object.keys(value)) {
        if (!['predicate', 'filter', 'arguments', 'distinct'].includes(field)) throw new ValidationError(`${path}.${field}: unknown field; expected predicate, filter, arguments or distinct`);
      }
      const column = (name: unknown, p: string): ColumnRef => {
        const attribute = target.attributes.find((a) => a.name === name);
        if (name === 'row_id' || name === 'time_slot') return SYSTEM_COLUMNS[name]!;
        if (!attribute) throw new ValidationError(`${p}: ${target.name} has no column ${JSON.stringify(name)}`);
        return { name: attribute.name, type: attribute.type };
      };
      let columns: ColumnRef[];
      if (fn === 'count') {
        const args = value.arguments ?? [];
        const list = Array.isArray(args) ? args : [args];
        columns = list.map((name, i) => column(name, `${path}.arguments[${i}]`));
      } else {
        const c = column(value.arguments, `${path}.arguments`);
        if (logical && c.type !== 'boolean') throw new ValidationError(`${path}.arguments: ${target.name}.${c.name} is not boolean`);
        if (!logical && !TYPE_MAPPING[c.type].numeric) throw new ValidationError(`${path}.arguments: ${target.name}.${c.name} is not numeric`);
        columns = [c];
      }
      if (value.predicate === undefined || value.predicate === null) throw new ValidationError(`${path}.predicate: required`);
      if (value.distinct !== undefined && value.distinct !== null && typeof value.distinct !== 'boolean') throw new ValidationError(`${path}.distinct: expected true or false`);
      const valueColumn: ColumnRef = { name: AGGREGATE_VALUE, type: fn === 'count' ? 'int' : logical ? 'boolean' : 'float' };
      const allowed = logical ? operatorsOf('boolean') : ['_eq', '_neq', '_gt', '_gte', '_lt', '_lte', '_in', '_nin', '_is_null'];
      const predicate = this.comparison(valueColumn, value.predicate, `${path}.predicate`, undefined, allowed);
      const filter = value.filter === undefined || value.filter === null ? TRUE : this.where(target, value.filter, `${path}.filter`);
      items.push({
        kind: 'related_aggregate',
        target,
        via,
        filter,
        aggregate: { fn: fn as PredicateFunction, columns, distinct: value.distinct === true },
        predicate,
      });
    }
    return allOf(items);
  }
}

/** A JSON operand: GraphQL's JSON scalar hands over plain values; BigInts become numbers. */
function jsonValue(value: unknown, at: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`${at}: expected a JSON value`);
    return value;
  }
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map((v, i) => jsonValue(v, `${at}[${i}]`));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v, `${at}.${k}`)]));
  throw new ValidationError(`${at}: expected a JSON value`);
}


/**
 * Binds a `where` of `entity` into the filter IR. Unknown fields and operators, wrong value types,
 * invalid patterns and oversized lists are ValidationErrors naming the path. null, undefined and `{}`
 * mean no filter (null); inside, `{}` is true, `_not: {}` false, `_and: []` true and `_or: []` false.
 */
export function parseWhere(catalog: Catalog, entity: EntitySchema, where: unknown, at = 'where', options: BindOptions = {}): Filter | null {
  if (where === null || where === undefined) return null;
  const filter = new Binder(catalog, options).where(entity, where, at);
  return isTrue(filter) ? null : filter;
}
