// The one way an identifier enters SQL: only names the catalog validated, always quoted.
import { NAME_PATTERN, RESERVED_NAMES } from './definitions.js';

/** Quotes a catalog-validated name (or a lake system column) for Postgres and DuckDB alike. */
export function quoteIdent(name: string): string {
  if (!NAME_PATTERN.test(name) && !(RESERVED_NAMES as readonly string[]).includes(name)) {
    throw new Error(`refusing to quote unvalidated identifier ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/** A catalog-validated name as a SQL string literal (a JSON key, say); the pattern admits no quote. */
export function nameLiteral(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new Error(`refusing to quote unvalidated name ${JSON.stringify(name)}`);
  return `'${name}'`;
}
