// GraphQL scalars for attribute types: graphql-scalars where it fits, an exact 64-bit BigInt here.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateResolver, DateTimeResolver, JSONResolver, UUIDResolver } from 'graphql-scalars';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: unknown): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) n = BigInt(value);
  if (n === undefined || n < INT64_MIN || n > INT64_MAX) {
    throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(typeof value === 'bigint' ? String(value) : value)}: expected a 64-bit integer`);
  }
  return n;
}

/**
 * A 64-bit integer. Serialised as a JSON number while exact in JavaScript (|n| <= 2^53 - 1), as a
 * decimal string beyond that; accepted as either. graphql-scalars' BigInt parses small values to
 * numbers, which would lose the type the rest of the gateway relies on.
 */
export const BigIntScalar = new GraphQLScalarType<bigint, number | string>({
  name: 'BigInt',
  description: 'A 64-bit signed integer: a JSON number when exact in JavaScript, else a decimal string.',
  serialize(value) {
    const n = toInt64(value);
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
