// API limits and web safety as Yoga plugins: body size, depth/aliases/tokens/cost, allow-list, introspection, CSRF, CORS.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type ASTVisitor, type ValidationContext } from 'graphql';
import { createGraphQLError, type CORSOptions, type Plugin } from 'graphql-yoga';
import type { WebSafetyConfig } from '../config/index.js';
import { ConfigError } from '../errors/index.js';

/**
 * The configuration's limits and switches (config WebSafetyConfig), with the allow-list read from
 * its file; the statement timeout belongs to the Postgres pool, not to Yoga.
 */
export type WebSafetySettings = Omit<WebSafetyConfig, 'statementTimeoutMs' | 'persistedOperationsFile'> & {
  /** Operations by the SHA-256 of their text; when set, only these run (the admin may send any). */
  persistedOperations?: ReadonlyMap<string, string>;
};

/** Headers a browser only sends after a CORS preflight, so a cross-site form cannot carry them. */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'authorization', 'x-hasura-admin-secret', 'x-hasura-role'];

const limitError = (message: string, status = 400) =>
  createGraphQLError(message, { extensions: { code: 'LIMIT_EXCEEDED', http: { status } } });

/**
 * MAX_REQUEST_BYTES: a declared Content-Length over it is refused before a byte is read; a body
 * without one (chunked) is cut off as it streams past it. Yoga's own cap stays as a backstop.
 */
export function useRequestBodyLimit(maxBytes: number): Plugin {
  const tooLarge = (size: string) => limitError(`the request body is ${size}, over the limit of ${maxBytes} bytes (MAX_REQUEST_BYTES)`, 413);
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null && /^\d+$/.test(declared)) {
        if (Number(declared) > maxBytes) throw tooLarge(`${declared} bytes`);
        // Within its declared length: Node's HTTP parser reads no byte past it (and refuses a
        // request that also says chunked), so the body needs no counting stream, which cost ~0.3 ms
        // of every request here.
        return;
      }
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser(async (req) => {
        let read = 0;
        const limited = req.body!.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              if (read > maxBytes) controller.error(tooLarge('longer'));
              else controller.enqueue(chunk);
            },
          }),
        );
        const copy = new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, body: limited, duplex: 'half' } as RequestInit);
        try {
          return await parse(copy);
        } catch (error) {
          if (error instanceof GraphQLError && error.extensions?.code === 'LIMIT_EXCEEDED') throw error;
          // The parser wraps a stream error in its own; the cut-off is what the user needs to hear.
          if (read > maxBytes) throw tooLarge('longer');
          throw error;
        }
      });
    },
  };
}

/** The deepest nesting of objects and lists in a JSON value, counted without recursion. Pure. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * The deepest nesting of `{` and `[` in a GraphQL document, outside strings and comments, in one
 * pass without recursion: graphql-js parses recursively, so a document nested thousands deep must
 * be refused before it is parsed. Pure.
 */
export function documentNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === '"') {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length && source[i] !== '"' && source[i] !== '\n'; i++) if (source[i] === '\\') i++;
      }
    } else if (c === '{' || c === '[') {
      deepest = Math.max(deepest, ++depth);
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return deepest;
}

const inputDepthError = (where: string, depth: number, max: number) =>
  createGraphQLError(`${where} nests objects and lists ${depth} deep, over the limit of ${max} (MAX_INPUT_DEPTH)`, {
    extensions: { code: 'LIMIT_EXCEEDED', http: { status: 400 } },
  });

/**
 * MAX_INPUT_DEPTH: variables and inline arguments nested deeper are refused before execution —
 * graphql-js coerces input values recursively, so a 1,000-level `_and` chain would exhaust the stack.
 */
export function useInputDepthLimit(maxDepth: number, maxSelectionDepth: number): Plugin {
  const rule = (context: ValidationContext): ASTVisitor => {
    let depth = 0;
    let reported = false;
    const enter = () => {
      depth++;
      if (depth > maxDepth && !reported) {
        reported = true;
        context.reportError(new GraphQLError(`an argument nests objects and lists over ${maxDepth} deep (MAX_INPUT_DEPTH)`, { extensions: { code: 'LIMIT_EXCEEDED' } }));
      }
    };
    const leave = () => {
      depth--;
    };
    return { [Kind.OBJECT]: { enter, leave }, [Kind.LIST]: { enter, leave } };
  };
  // Selection sets and argument values nest in the same brackets: the document may nest both.
  const maxNesting = maxSelectionDepth + maxDepth;
  return {
    onParse({ params }) {
      const nesting = documentNesting(typeof params.source === 'string' ? params.source : params.source.body);
      if (nesting > maxNesting) {
        throw createGraphQLError(
          `the document nests braces and brackets ${nesting} deep, over the limit of ${maxNesting} (MAX_DEPTH + MAX_INPUT_DEPTH)`,
          { extensions: { code: 'LIMIT_EXCEEDED', http: { status: 400 } } },
        );
      }
    },
    onParams({ params }) {
      if (params.variables == null || typeof params.variables !== 'object') return;
      for (const [name, value] of Object.entries(params.variables)) {
        const depth = jsonDepth(value);
        if (depth > maxDepth) throw inputDepthError(`variable $${name}`, depth, maxDepth);
      }
    },
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}

/** A request whose JSON cannot be read (a GET's `variables=%7B`, say) is the caller's error: 400, not an internal one. */
export function useMalformedRequestError(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      const parse = requestParser;
      setRequestParser(async (request) => {
        try {
          return await parse(request);
        } catch (error) {
          if (error instanceof SyntaxError) {
            throw createGraphQLError(`the request's JSON is malformed: ${error.message}`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
          }
          throw error;
        }
      });
    },
  };
}

/** A graphql-armor rejection as our error: the message names the setting; code LIMIT_EXCEEDED. */
function reportLimit(variable: string, limit: number) {
  return [
    (context: ValidationContext | null, error: GraphQLError) => {
      const message = `${error.message.replace(/^Syntax Error: /, '').replace(/\.$/, '')}: the limit is ${variable}=${limit}`;
      context?.reportError(new GraphQLError(message, { nodes: error.nodes, extensions: { code: 'LIMIT_EXCEEDED' } }));
    },
  ];
}

/** MAX_DEPTH, MAX_ALIASES, MAX_TOKENS, MAX_QUERY_COST (graphql-armor); field suggestions hidden when introspection is off. */
export function useOperationLimits(settings: Pick<WebSafetySettings, 'maxDepth' | 'maxAliases' | 'maxTokens' | 'maxCost' | 'introspection'>): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: settings.maxDepth, ignoreIntrospection: true, propagateOnRejection: false, onReject: reportLimit('MAX_DEPTH', settings.maxDepth) },
    maxAliases: { n: settings.maxAliases, propagateOnRejection: false, onReject: reportLimit('MAX_ALIASES', settings.maxAliases) },
    // The token count is checked while parsing (no validation context): its message is set here.
    maxTokens: {
      n: settings.maxTokens,
      exposeLimits: false,
      errorMessage: `the document has more than ${settings.maxTokens} tokens: the limit is MAX_TOKENS=${settings.maxTokens}`,
    },
    costLimit: { maxCost: settings.maxCost, ignoreIntrospection: true, propagateOnRejection: false, onReject: reportLimit('MAX_QUERY_COST', settings.maxCost) },
    maxDirectives: { n: 50 },
    blockFieldSuggestion: { enabled: !settings.introspection },
  }) as Plugin;
}

/** INTROSPECTION=false: `__schema` and `__type` are refused for every caller (the validation cache is shared). */
export function useIntrospectionSwitch(enabled: boolean): Plugin {
  if (enabled) return {};
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/** CORS_ORIGINS: only listed origins get CORS headers (with credentials); others get none, so a browser refuses them. */
export function corsFor(origins: readonly string[]): (request: Request) => CORSOptions {
  const allowed = new Set(origins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !allowed.has(origin)) return false as unknown as CORSOptions;
    return {
      origin: [origin],
      credentials: true,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'x-hasura-role', 'x-request-id', 'x-graphql-yoga-csrf'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    };
  };
}

/** Yoga's CSRF prevention: a form post, or a GET without a preflighted header, is refused with 403. */
export function useCsrfPrevention(): Plugin {
  return useCSRFPrevention({ requestHeaders: CSRF_HEADERS }) as Plugin;
}

/**
 * PERSISTED_OPERATIONS_FILE: only operations of the allow-list run, named by the SHA-256 of their
 * text (`extensions.persistedQuery.sha256Hash`, Apollo's form); the admin may send any operation.
 */
export function usePersistedOperationsOnly(operations: ReadonlyMap<string, string>, isAdmin: (request: Request) => boolean): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (hash) => operations.get(hash) ?? null,
    allowArbitraryOperations: (request) => isAdmin(request),
    customErrors: {
      notFound: { message: 'the operation is not in the allow-list (PERSISTED_OPERATIONS_FILE)', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } } },
      persistedQueryOnly: {
        message: 'only persisted operations run here: send extensions.persistedQuery.sha256Hash of an operation in PERSISTED_OPERATIONS_FILE',
        extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } },
      },
      keyNotFound: { message: 'send extensions.persistedQuery.sha256Hash (PERSISTED_OPERATIONS_FILE is set)', extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } } },
    },
  }) as Plugin;
}

export function operationHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The allow-list file: `{ "<sha256 hex of the text>": "<operation text>" }`; a key that is not its text's hash is refused. */
export function parsePersistedOperations(text: string, file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${file}: must be an object of "<sha256>": "<operation text>"`);
  }
  const operations = new Map<string, string>();
  for (const [hash, operation] of Object.entries(parsed)) {
    if (typeof operation !== 'string') throw new ConfigError(`${file}: "${hash}" must be the operation's text`);
    if (operationHash(operation) !== hash.toLowerCase()) {
      throw new ConfigError(`${file}: "${hash}" is not the SHA-256 of its operation's text (${operationHash(operation)})`);
    }
    operations.set(hash.toLowerCase(), operation);
  }
  return operations;
}

export async function loadPersistedOperations(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`PERSISTED_OPERATIONS_FILE=${JSON.stringify(file)}: cannot be read (${(error as Error).message})`);
  }
  return parsePersistedOperations(text, file);
}

/** What runs before authentication: CSRF prevention and the body's size and JSON (MAX_REQUEST_BYTES). */
export function requestSafetyPlugins(settings: WebSafetySettings): Plugin[] {
  return [useCsrfPrevention(), useRequestBodyLimit(settings.maxRequestBytes), useMalformedRequestError()];
}

/** What runs after authentication: allow-list, document limits, input nesting, introspection. */
export function operationSafetyPlugins(settings: WebSafetySettings, isAdmin: (request: Request) => boolean): Plugin[] {
  return [
    ...(settings.persistedOperations ? [usePersistedOperationsOnly(settings.persistedOperations, isAdmin)] : []),
    useOperationLimits(settings),
    useInputDepthLimit(settings.maxInputDepth, settings.maxDepth),
    useIntrospectionSwitch(settings.introspection),
  ];
}
