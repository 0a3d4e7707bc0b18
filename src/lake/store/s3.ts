// A lake in an S3 bucket (LAKE_URL=s3://bucket/prefix), through @aws-sdk/client-s3. Large files go
// up as multipart uploads; checksums only where S3 requires them, since S3-compatible servers
// reject or mis-store the SDK's default CRCs on streamed uploads (FIELD-NOTES).
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectStore, PutResult, StoredObject } from './types.js';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix under the bucket, without a trailing slash ('' for the bucket root). */
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Attempts per request, including the first (the SDK backs off between them). */
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

const PART_BYTES = 16 * 1024 * 1024;
const DELETE_BATCH = 1_000; // DeleteObjects' limit per request

function unquoteEtag(etag: string | undefined): string | null {
  return etag ? etag.replaceAll('"', '') : null;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.description = `s3://${options.bucket}/${options.prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: options.requestTimeoutMs ?? 60_000 },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private keyOf(key: string): string {
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  private keyFrom(objectKey: string): string {
    return this.options.prefix ? objectKey.slice(this.options.prefix.length + 1) : objectKey;
  }

  async putFile(key: string, localFile: string): Promise<PutResult> {
    const { size } = await fs.stat(localFile);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: this.keyOf(key), Body: createReadStream(localFile), ContentType: 'application/vnd.apache.parquet' },
      partSize: PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const result = await upload.done().catch((error: unknown) => {
      throw this.explain(error, `upload of ${key}`);
    });
    return { bytes: size, etag: unquoteEtag(result.ETag) };
  }

  async getToFile(key: string, localFile: string): Promise<void> {
    const response = await this.client
      .send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }))
      .catch((error: unknown) => {
        throw this.explain(error, `download of ${key}`);
      });
    await pipeline(response.Body as Readable, createWriteStream(localFile));
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }));
      return {
        key,
        bytes: response.ContentLength ?? 0,
        etag: unquoteEtag(response.ETag),
        lastModified: response.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return null;
      throw this.explain(error, `head of ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.keyOf(prefix), ContinuationToken: token }),
        )
        .catch((error: unknown) => {
          throw this.explain(error, `listing of ${prefix}`);
        });
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        yield {
          key: this.keyFrom(object.Key),
          bytes: object.Size ?? 0,
          etag: unquoteEtag(object.ETag),
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const response = await this.client
        .send(
          new DeleteObjectsCommand({
            Bucket: this.options.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.keyOf(key) })), Quiet: true },
          }),
        )
        .catch((error: unknown) => {
          throw this.explain(error, `delete of ${batch.length} objects`);
        });
      const failed = response.Errors ?? [];
      if (failed.length > 0) throw new Error(`S3 refused to delete ${failed.length} objects, e.g. ${failed[0]?.Key}: ${failed[0]?.Message}`);
    }
  }

  localPath(): null {
    return null;
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket })).catch((error: unknown) => {
      throw this.explain(error, 'access check');
    });
  }

  close(): void {
    this.client.destroy();
  }

  /** Turns SDK and network failures into errors that say which setting to look at. */
  private explain(error: unknown, what: string): Error {
    const where = this.description;
    if (error instanceof S3ServiceException) {
      const status = error.$metadata.httpStatusCode;
      if (error.name === 'NoSuchBucket' || (status === 404 && what === 'access check'))
        return new Error(`LAKE_URL: the bucket "${this.options.bucket}" does not exist (${where})`);
      if (status === 403 || error.name === 'InvalidAccessKeyId' || error.name === 'SignatureDoesNotMatch')
        return new Error(`S3 ${what} was denied at ${where}: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (${error.name})`);
      return new Error(`S3 ${what} failed at ${where}: ${error.name}: ${error.message}`);
    }
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT' || error instanceof AggregateError)
      return new Error(`S3 ${what}: cannot reach the S3 endpoint of ${where} (${code ?? message}); check S3_ENDPOINT`);
    return new Error(`S3 ${what} failed at ${where}: ${message}`);
  }
}
