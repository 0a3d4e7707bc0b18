// A lake in a local directory (LAKE_URL=file:///...). Writes go to a temp name and are renamed,
// so a reader never sees half a file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { uuidv7 } from 'uuidv7';
import { ValidationError } from '../../errors/index.js';
import type { ObjectStore, PutResult, StoredObject } from './types.js';

const TEMP_SUFFIX = '.uploading';

async function md5(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class LocalObjectStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `file://${root}`;
  }

  private pathOf(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep)) throw new ValidationError(`lake key ${JSON.stringify(key)} leaves the lake root`);
    return full;
  }

  async putFile(key: string, localFile: string): Promise<PutResult> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${uuidv7()}${TEMP_SUFFIX}`;
    await fs.copyFile(localFile, temp);
    await fs.rename(temp, target);
    const { size } = await fs.stat(target);
    return { bytes: size, etag: await md5(target) };
  }

  async getToFile(key: string, localFile: string): Promise<void> {
    await fs.copyFile(this.pathOf(key), localFile);
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const stat = await fs.stat(this.pathOf(key));
      return { key, bytes: stat.size, etag: null, lastModified: stat.mtime };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const entries = await fs.readdir(this.root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const key = path.relative(this.root, full).split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const stat = await fs.stat(full).catch(() => null);
      if (stat) yield { key, bytes: stat.size, etag: null, lastModified: stat.mtime };
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => fs.rm(this.pathOf(key), { force: true })));
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  async check(): Promise<void> {
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.access(this.root, fs.constants.W_OK);
    } catch (error) {
      throw new Error(`LAKE_URL: the lake directory ${this.root} is not writable (${(error as Error).message})`);
    }
  }

  close(): void {}
}
