// LAKE_URL -> the object store it names.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors/index.js';
import { LocalObjectStore } from './local.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore } from './types.js';

export interface ObjectStoreSettings {
  lakeUrl: string;
  s3: {
    endpoint?: string;
    region: string;
    forcePathStyle: boolean;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
}

export function openObjectStore(settings: ObjectStoreSettings): ObjectStore {
  let url: URL;
  try {
    url = new URL(settings.lakeUrl);
  } catch {
    throw new ConfigError(`LAKE_URL: "${settings.lakeUrl}" is not a URL; use file:///path/to/lake or s3://bucket/prefix`);
  }
  switch (url.protocol) {
    case 'file:':
      if (url.host) throw new ConfigError(`LAKE_URL: "${settings.lakeUrl}" names a host; use file:///absolute/path (three slashes)`);
      return new LocalObjectStore(path.resolve(fileURLToPath(url)));
    case 's3:': {
      if (!url.hostname) throw new ConfigError(`LAKE_URL: "${settings.lakeUrl}" names no bucket; use s3://bucket/prefix`);
      const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
      return new S3ObjectStore({ bucket: url.hostname, prefix, ...settings.s3 });
    }
    default:
      throw new ConfigError(
        `LAKE_URL: unknown scheme "${url.protocol.replace(/:$/, '')}" in "${settings.lakeUrl}"; use file:///path/to/lake or s3://bucket/prefix`,
      );
  }
}
