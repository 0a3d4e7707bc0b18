// Imported first by every entry point that serves GraphQL (src/main.ts, the benchmarks): libraries
// read NODE_ENV as they load, and graphql-js, unless it is 'production', checks each of its
// instanceof tests against a second copy of itself: measured, 40% of the variable coercion of a
// 10,000-object insert (95 of 220 ms). A NODE_ENV the operator set is kept.
process.env.NODE_ENV ??= 'production';
