// A request's view of the search service: its searches run one at a time.
import type { SearchService } from '../query/index.js';

export type RequestSearch = Pick<SearchService, 'list' | 'aggregate' | 'children'>;

/**
 * GraphQL resolves a request's root fields (and a level's batches) in parallel, so 200 aliases
 * were 200 searches at once: they would fill the process's admission queue (DUCKDB_QUEUE_LENGTH)
 * by themselves and turn other users away as BUSY. One at a time per request, the queue counts
 * requests; two cores gained nothing from more parallel statements anyway (FIELD-NOTES).
 */
export function oneSearchAtATime(search: SearchService): RequestSearch {
  let tail: Promise<unknown> = Promise.resolve();
  const queued = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
  return {
    list: (...args) => queued(() => search.list(...args)),
    aggregate: (...args) => queued(() => search.aggregate(...args)),
    children: (...args) => queued(() => search.children(...args)),
  };
}
