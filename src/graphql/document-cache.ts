// The parse/validation cache of Yoga, bounded by the bytes of document text it keeps.
import type { DocumentNode } from 'graphql';

export interface DocumentCacheSettings {
  /** Total length of the document texts kept (their ASTs take a multiple of it). */
  maxBytes: number;
  /** A longer document is parsed every time and never kept. */
  maxDocumentBytes: number;
}

/**
 * Least recently used entries first out, bounded by the summed length of the keys (the document
 * text). Yoga's default keeps 1,024 documents whatever their size: 1,024 inline-object inserts of
 * ~1 MB text each held gigabytes of AST (issue 11). A Map keeps insertion order, which is all an
 * LRU needs; the top-level lru-cache in node_modules is v5, a transitive dependency, not ours.
 */
export class DocumentCache<V> {
  private readonly entries = new Map<string, V>();
  private bytes = 0;

  constructor(private readonly settings: DocumentCacheSettings) {}

  /** Entries and the bytes of their keys now (tests and metrics). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Move to the newest end.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    // Length in UTF-16 units: a byte count would cost a pass over a large text for nothing.
    if (key.length > this.settings.maxDocumentBytes || key.length > this.settings.maxBytes) return;
    if (this.entries.delete(key)) this.bytes -= key.length;
    this.entries.set(key, value);
    this.bytes += key.length;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.settings.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= oldest.length;
    }
  }
}

/** Yoga's `parserAndValidationCache` option: documents and parse errors in bounded caches. */
export function boundedParserCache(settings: DocumentCacheSettings): {
  documentCache: DocumentCache<DocumentNode>;
  errorCache: DocumentCache<unknown>;
  // Yoga keys validation results by the document object in a WeakMap: bounded by documentCache.
  validationCache: true;
} {
  return { documentCache: new DocumentCache(settings), errorCache: new DocumentCache(settings), validationCache: true };
}
