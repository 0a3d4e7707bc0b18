// A real S3-protocol server on loopback for the tests (@20minutes/s3rver; settings from FIELD-NOTES).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Object store settings for a lake under `prefix` in the test bucket. */
  settings(prefix: string): { lakeUrl: string; s3: { endpoint: string; region: string; forcePathStyle: boolean; accessKeyId: string; secretAccessKey: string } };
  /** Stops answering (the endpoint refuses connections) until `start` is called again. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'lake'): Promise<TestS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-s3-'));
  const create = (port: number) =>
    new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory,
      allowMismatchedSignatures: true,
      vhostBuckets: false,
      configureBuckets: [{ name: bucket }],
    });
  let server: S3rver | null = create(0);
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    settings: (prefix) => ({
      lakeUrl: `s3://${bucket}/${prefix}`,
      s3: { endpoint, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
    async stop() {
      await server?.close();
      server = null;
    },
    async start() {
      server ??= create(port);
      await server.run();
    },
    async close() {
      await server?.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
