// The process's logger: human-readable lines on a terminal, JSON lines otherwise; secrets redacted.
import type { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { maskUrlPasswords, type Config } from '../config/index.js';

/**
 * Fields that may hold a secret, wherever a log call puts them (a config object, a connection's
 * options, request headers). pino removes them before a line is written.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
  'adminToken',
  '*.adminToken',
  'secretAccessKey',
  '*.secretAccessKey',
  's3.secretAccessKey',
  '*.s3.secretAccessKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'jwtSecret',
  '*.jwtSecret',
  'auth.jwtSecret',
  '*.auth.jwtSecret',
  'headers["x-hasura-admin-secret"]',
  '*.headers["x-hasura-admin-secret"]',
  // Node's URL errors carry the text they could not parse, a connection string included.
  'err.input',
];

export interface LoggerOptions extends Pick<Config, 'logLevel' | 'logFormat'> {
  /** File descriptor of the log: 1 (stdout) or 2 (stderr, for commands whose stdout is their result). */
  fd: 1 | 2;
  /** Instead of the descriptor (tests). */
  destination?: Writable;
}

export function createLogger(options: LoggerOptions): Logger {
  const terminal = (options.fd === 1 ? process.stdout : process.stderr).isTTY === true;
  const readable = options.logFormat === 'pretty' || (options.logFormat === 'auto' && terminal && !options.destination);
  const stream: DestinationStream = readable
    ? pretty({
        destination: options.destination ?? options.fd,
        colorize: terminal && !options.destination,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        sync: true,
      })
    : ((options.destination as DestinationStream | undefined) ?? pino.destination(options.fd));
  return pino(
    {
      level: options.logLevel,
      base: undefined,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Paths cannot reach inside text: a URL with a password in a message or an error is masked here.
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? maskUrlPasswords(arg) : arg)) as Parameters<typeof method>,
          );
        },
      },
      serializers: {
        err: (error: Error) => {
          const serialized = pino.stdSerializers.err(error);
          if (typeof serialized.message === 'string') serialized.message = maskUrlPasswords(serialized.message);
          if (typeof serialized.stack === 'string') serialized.stack = maskUrlPasswords(serialized.stack);
          return serialized;
        },
      },
    },
    stream,
  );
}
