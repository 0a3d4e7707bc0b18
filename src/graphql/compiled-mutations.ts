// Mutations run as graphql-jit compiles them. A bulk insert's time outside Postgres was mostly
// graphql-js coercing its variables (a walk of every field of every object, through generic code):
// of a 10,000-object insert_orders, the request reached its resolver after ~210 ms, ~80 ms with the
// compiled coercion. Queries keep graphql-js: their variables are small and their time is DuckDB's.
//
// Only documents without string literals are compiled: graphql-jit 0.8.9 writes literal arguments
// into the code it generates, and turns a string starting with its (public) Date marker into code,
// so a string literal could run code in the gateway (test/graphql/write-path.int.test.ts).
// Values in variables never enter the generated code; a bulk insert sends its objects that way.
import { BREAK, getOperationAST, Kind, visit, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

type Compiled = CompiledQuery | null;

/**
 * Compiled mutations per schema (each role has its own) and document (Yoga's parser cache hands out
 * one per query text); null where one is not compiled (string literals) or graphql-jit cannot
 * compile it: it then runs as before.
 */
const compiledBySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string | null, Compiled>>>();

function compiledOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null): Compiled {
  let byDocument = compiledBySchema.get(schema);
  if (!byDocument) compiledBySchema.set(schema, (byDocument = new WeakMap()));
  let byOperation = byDocument.get(document);
  if (!byOperation) byDocument.set(document, (byOperation = new Map()));
  let compiled = byOperation.get(operationName);
  if (compiled === undefined) {
    const result = hasStringLiteral(document) ? null : compileQuery(schema, document, operationName ?? undefined);
    compiled = result && isCompiledQuery(result) ? result : null;
    byOperation.set(operationName, compiled);
  }
  return compiled;
}

function hasStringLiteral(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING]() {
      found = true;
      return BREAK;
    },
  });
  return found;
}

/**
 * Executes mutations by their compiled form. Variables that do not fit their types are reported by
 * graphql-js, as for every other request: the compiled form refuses them before any resolver runs
 * (a result without data), and the request runs again the usual way, which words the errors.
 */
export function useCompiledMutations(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      const compiled = compiledOf(args.schema, args.document, args.operationName ?? null);
      if (!compiled) return;
      setExecuteFn(async (executeArgs) => {
        const result = (await compiled.query(executeArgs.rootValue, executeArgs.contextValue, executeArgs.variableValues ?? {})) as ExecutionResult;
        return 'data' in result ? result : executeFn(executeArgs);
      });
    },
  };
}
