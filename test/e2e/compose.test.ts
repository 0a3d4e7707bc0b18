// docker-compose.yml, as Docker Compose itself reads it: MinIO holds the lake and every gateway
// replica points its S3 settings at it. Compose validates without an engine, but needs the
// `docker compose` CLI plugin: without it the test is skipped (and says so), never passed.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const compose = (args: string[]) => spawnSync('docker', ['compose', ...args], { encoding: 'utf8', timeout: 60_000 });
const available = (() => {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 });
  return probe.error === undefined && probe.status === 0;
})();

interface ComposeService {
  environment?: Record<string, string>;
  entrypoint?: string[];
  depends_on?: Record<string, { condition: string }>;
  ports?: { target: number; published: string }[];
}

function resolved(...profiles: string[]): Record<string, ComposeService> {
  const run = compose(['-f', 'docker-compose.yml', ...profiles.flatMap((p) => ['--profile', p]), 'config', '--format', 'json']);
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { services: Record<string, ComposeService> }).services;
}

describe('docker-compose.yml', () => {
  it.skipIf(!available)('`docker compose config` accepts it; the lake is on MinIO for the gateway and its scale-out replica (skipped when `docker compose version` fails: no Docker Compose CLI)', () => {
    expect(Object.keys(resolved()).sort()).toEqual(['gateway', 'minio', 'minio-bucket', 'postgres']);
    const services = resolved('scale-out');
    const bucketMade = services['minio-bucket']!.entrypoint!.join(' ').match(/mc mb -p lake\/([a-z0-9.-]+)/)?.[1];
    expect(bucketMade).toBeDefined();
    const minioEnv = services.minio!.environment!;
    for (const name of ['gateway', 'gateway-2']) {
      const env = services[name]!.environment!;
      expect(env.S3_ENDPOINT).toBe('http://minio:9000');
      expect(env.LAKE_URL).toBe(`s3://${bucketMade}/lake`);
      expect([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY]).toEqual([minioEnv.MINIO_ROOT_USER, minioEnv.MINIO_ROOT_PASSWORD]);
      expect(env.DATABASE_URL).toBe(services.gateway!.environment!.DATABASE_URL); // one Postgres for both
      expect(services[name]!.depends_on!['minio-bucket']!.condition).toBe('service_completed_successfully');
    }
    expect(services['gateway-2']!.ports!.map((p) => p.published)).toEqual(['4001']);
  });
});
