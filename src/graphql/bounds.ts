// Bounds of one request, whatever it asks: rows materialized across all its fields, and bytes of
// its response. Each is a small Yoga plugin; resolvers only charge the request's row budget.
import { GraphQLError, getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LimitError } from '../errors/index.js';
import type { GatewayContext } from './builder.js';

/**
 * Rows one request may materialize across every list, page, reverse relation and reference it
 * resolves. A nested query multiplies rows per level (21 levels of customers { orders { customer
 * … } } took 4.4 GB before the heap died), so the bound must hold across fields, not per field.
 */
export class RowBudget {
  private used = 0;
  private passed: LimitError | null = null;

  constructor(readonly maxRows: number) {}

  /** The error that ended the request, once a charge passed the bound. */
  get exceeded(): LimitError | null {
    return this.passed;
  }

  /** Rows still allowed: a statement asks for one more than this, so that passing it shows. */
  remaining(): number {
    return Math.max(0, this.maxRows - this.used);
  }

  /** Before any work: once the bound was passed, every later field fails at once. */
  check(): void {
    if (this.passed) throw this.passed;
  }

  /** Charges rows a field resolved; throws once the request passed its bound. */
  take(rows: number, where: string): void {
    this.check();
    this.used += rows;
    if (this.used > this.maxRows) {
      this.passed = new LimitError(
        `the request needs more than ${this.maxRows} rows (MAX_ROWS_PER_REQUEST), passed at ${where}; ` +
          'ask for fewer rows (limit), fewer aliases or less nesting',
      );
      throw this.passed;
    }
  }
}

const limitResult = (error: LimitError): ExecutionResult => ({
  data: null,
  errors: [new GraphQLError(error.message, { extensions: { code: error.code } })],
});

const isMutation = (args: { document: DocumentNode; operationName?: string | null }) =>
  getOperationAST(args.document, args.operationName)?.operation === 'mutation';

/**
 * Once a query passed its row bound it ends with that one error, not a partial answer. A mutation
 * keeps its answer (the fields past the bound carry the error): its writes were committed, and
 * the answer must say which.
 */
export function useRowBudget(): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      if (isMutation(args)) return;
      return {
        onExecuteDone({ result, setResult }) {
          const passed = args.contextValue.budget.exceeded;
          if (passed && !(Symbol.asyncIterator in Object(result))) setResult(limitResult(passed));
        },
      };
    },
  };
}

/** A result that would serialize to more than `maxBytes` of JSON is answered with an error instead. */
export function useResponseSizeLimit(maxBytes: number): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      // A mutation's writes are committed by now: only its answer is dropped, and the error says so.
      const committed = isMutation(args) ? '; the mutation was carried out, only its answer is dropped' : '';
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in Object(result)) return;
          const size = jsonBytesUpTo((result as ExecutionResult).data ?? null, maxBytes);
          if (size > maxBytes) {
            setResult(
              limitResult(
                new LimitError(
                  `the response would be larger than ${maxBytes} bytes (MAX_RESPONSE_BYTES); ask for fewer rows or fields${committed}`,
                ),
              ),
            );
          }
        },
      };
    },
  };
}

// Characters JSON.stringify escapes (quote, backslash, controls) or may (lone surrogates).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The UTF-8 length of `value` as JSON, counting stops soon after `cap`: a walk that allocates
 * nothing for plain strings, instead of serializing a possibly huge result twice.
 */
export function jsonBytesUpTo(value: unknown, cap: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= cap) {
    const item = stack.pop();
    if (typeof item === 'string') {
      total += NEEDS_ESCAPE.test(item) ? Buffer.byteLength(JSON.stringify(item)) : Buffer.byteLength(item) + 2;
    } else if (item === null || item === undefined) {
      total += 4;
    } else if (typeof item === 'number' || typeof item === 'boolean') {
      total += String(item).length;
    } else if (Array.isArray(item)) {
      total += 2 + Math.max(0, item.length - 1);
      for (const element of item) stack.push(element);
    } else if (typeof item === 'object') {
      if ('toJSON' in item && typeof item.toJSON === 'function') {
        stack.push(item.toJSON());
        continue;
      }
      const entries = Object.entries(item);
      total += 2 + Math.max(0, entries.length - 1);
      for (const [key, element] of entries) {
        total += Buffer.byteLength(key) + 3;
        stack.push(element);
      }
    } else {
      total += String(item).length;
    }
  }
  return total;
}
