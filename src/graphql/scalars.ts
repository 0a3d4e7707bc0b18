// GraphQL scalars for attribute types: graphql-scalars where it fits, an exact 64-bit BigInt here.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateResolver, DateTimeResolver, JSONResolver, UUIDResolver } from 'graphql-scalars';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT128_MIN = -(2n ** 127n);
const INT128_MAX = 2n ** 127n - 1n;

function toInteger(value: unknown, min: bigint, max: bigint, expected: string): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) n = BigInt(value);
  if (n === undefined || n < min || n > max) {
    throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(typeof value === 'bigint' ? String(value) : value)}: expected ${expected}`);
  }
  return n;
}

const toInt64 = (value: unknown) => toInteger(value, INT64_MIN, INT64_MAX, 'a 64-bit integer');

/**
 * A 64-bit integer in values and arguments. Serialised as a JSON number while exact in JavaScript
 * (|n| <= 2^53 - 1), as a decimal string beyond that; accepted as either. graphql-scalars' BigInt
 * parses small values to numbers, which would lose the type the rest of the gateway relies on.
 * Results may be wider: a sum of int64 values is exact (DuckDB's sum of BIGINT is a 128-bit
 * HUGEINT), and a decimal string carries it as well as any value beyond 2^53, so clients read
 * sums the way they read values, and no sum is refused or rounded.
 */
export const BigIntScalar = new GraphQLScalarType<bigint, number | string>({
  name: 'BigInt',
  description:
    'A signed integer: a JSON number when exact in JavaScript, else a decimal string. Values and arguments are 64-bit; a sum of int values is exact and may exceed 64 bits (up to 128).',
  serialize(value) {
    const n = toInteger(value, INT128_MIN, INT128_MAX, 'a 128-bit integer');
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
  },
  parseValue: toInt64,
  parseLiteral(ast) {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return toInt64(ast.value);
    throw new GraphQLError(`BigInt cannot represent a ${ast.kind} literal: expected a 64-bit integer`);
  },
});

export const SCALARS = {
  UUID: UUIDResolver,
  DateTime: DateTimeResolver,
  Date: DateResolver,
  BigInt: BigIntScalar,
  JSON: JSONResolver,
} as const;
