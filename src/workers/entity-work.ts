// Background work per entity (flush, compaction): each entity's runs are independent of the others',
// a failing entity waits out an exponential backoff, and the log says when it starts and stops failing.
import type { Logger } from 'pino';
import { backoffDelay, type BackoffSettings } from './backoff.js';

export interface EntityRef {
  project: string;
  id: number;
  name: string;
}

/** This process's view of a failing entity's work. */
export interface EntityFailure {
  failures: number;
  lastError: string;
  lastErrorAt: Date;
  /** The workers of this process do not try the entity again before this. */
  retryAt: Date;
}

/**
 * Runs of one kind of work (e.g. "flush"). `offer` starts a run per entity without waiting for it,
 * so a slow or hanging entity never delays the others; at most `concurrency` run at once, because
 * each run holds a pool connection for its lock and takes others for its queries (a run per entity
 * of a large catalog could take the whole pool and wait on itself).
 */
export class EntityWork {
  private readonly running = new Map<string, Promise<void>>();
  private readonly failing = new Map<string, EntityFailure & { since: Date }>();
  /** When each entity's last run started: the least recently started go first, so none starves at the bound. */
  private readonly started = new Map<string, number>();
  private stopped = false;
  private runs = 0;

  constructor(
    private readonly what: string,
    private readonly log: Logger,
    private readonly backoff: BackoffSettings,
    private readonly concurrency = 2,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts `run` for each entity not already running nor backing off, up to the concurrency bound. */
  offer<T extends EntityRef>(entities: readonly T[], run: (entity: T) => Promise<unknown>, now = Date.now()): void {
    const order = (entity: T) => this.started.get(keyOf(entity)) ?? 0;
    for (const entity of [...entities].sort((a, b) => order(a) - order(b))) {
      if (this.stopped || this.running.size >= this.concurrency) return;
      const key = keyOf(entity);
      if (this.running.has(key)) continue;
      const failure = this.failing.get(key);
      if (failure && failure.retryAt.getTime() > now) continue;
      this.started.set(key, ++this.runs);
      const done = run(entity).then(
        () => this.succeeded(entity),
        (error: unknown) => this.failed(entity, error),
      );
      const tracked = done.finally(() => this.running.delete(key));
      this.running.set(key, tracked);
    }
  }

  /** Records a run that succeeded (also one made outside `offer`, e.g. by an admin): the backoff ends. */
  succeeded(entity: EntityRef): void {
    const failure = this.failing.get(keyOf(entity));
    if (!failure) return;
    this.failing.delete(keyOf(entity));
    this.log.info(
      { entity: entity.name, failures: failure.failures, failingForMs: Date.now() - failure.since.getTime() },
      `${this.what} of ${entity.name} works again after ${failure.failures} failed attempts`,
    );
  }

  /** Records a failed run: the entity waits out its backoff; only the first failure in a row is logged as an error. */
  failed(entity: EntityRef, error: unknown): void {
    const key = keyOf(entity);
    const previous = this.failing.get(key);
    const failures = (previous?.failures ?? 0) + 1;
    const now = new Date();
    const waitMs = backoffDelay(failures, this.backoff, this.random);
    const message = error instanceof Error ? error.message : String(error);
    this.failing.set(key, { failures, lastError: message, lastErrorAt: now, retryAt: new Date(now.getTime() + waitMs), since: previous?.since ?? now });
    const fields = { entity: entity.name, failures, retryInMs: waitMs, err: error };
    if (previous) this.log.debug(fields, `${this.what} of ${entity.name} failed again`);
    else this.log.error(fields, `${this.what} of ${entity.name} failed; retrying with backoff (logged again when it works)`);
  }

  /** The entity's failure state in this process, or null when its last run succeeded. */
  failure(entity: Pick<EntityRef, 'project' | 'id'>): EntityFailure | null {
    const found = this.failing.get(keyOf(entity));
    return found ? { failures: found.failures, lastError: found.lastError, lastErrorAt: found.lastErrorAt, retryAt: found.retryAt } : null;
  }

  /** Starts no more runs and waits for those running. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running.values()]);
  }

  /** Waits for the runs in flight (tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}

function keyOf(entity: Pick<EntityRef, 'project' | 'id'>): string {
  return `${entity.project}/${entity.id}`;
}
