// The lake's object store interface: a local directory or S3, behind the same face.

export interface StoredObject {
  key: string;
  bytes: number;
  etag: string | null;
  lastModified: Date;
}

export interface PutResult {
  bytes: number;
  etag: string | null;
}

export interface ObjectStore {
  /** Where the store points, for logs and errors (never with credentials). */
  readonly description: string;
  /** Uploads a local file under `key` (keys are `/`-separated, relative to the lake root). */
  putFile(key: string, localFile: string): Promise<PutResult>;
  /** Downloads `key` into `localFile`. */
  getToFile(key: string, localFile: string): Promise<void>;
  head(key: string): Promise<StoredObject | null>;
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Deletes the keys; keys that do not exist are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** A local file path DuckDB can read directly, or null when the object must be fetched first. */
  localPath(key: string): string | null;
  /** Proves the store is reachable and writable, with an error that names what is wrong. */
  check(): Promise<void>;
  close(): void;
}
