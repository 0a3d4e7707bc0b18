// Error kinds the soak counts: a short, stable name per cause, so a report can be compared across runs.
export function errorKind(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (/terminat|ECONNRESET|Connection terminated|connection.*(closed|ended)|Client has encountered a connection error|57P01/i.test(message)) return 'postgres connection killed';
  if (/ECONNREFUSED|socket hang up|fetch failed|S3|lake store|NoSuchKey|EPIPE|getaddrinfo|Bucket/i.test(message)) return 'object store unavailable';
  if (/ConflictError|CONFLICT/.test(message)) return 'conflict (retryable)';
  if (/TimeoutError|TIMEOUT|ran longer/.test(message)) return 'timeout';
  if (/garbage-collected/.test(message)) return 'file collected under a query';
  return `other: ${message.slice(0, 80)}`;
}
