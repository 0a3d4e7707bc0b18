// Admission of searches into DuckDB: a few run at once, a short queue waits, the rest are told BUSY.
import { BusyError } from '../errors/index.js';

export interface AdmissionSettings {
  /** Searches running at once (snapshot to last row). */
  maxRunning: number;
  /** Searches that may wait for a slot; one more is refused at once. */
  queueLength: number;
  /** How long a search may wait for a slot before it is refused. */
  queueWaitMs: number;
}

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

/**
 * A counting gate with a bounded queue. Searches hold a Postgres connection while they copy the
 * buffer into DuckDB, so an unbounded pile of them waiting for DuckDB would also starve `_by_pk`
 * lookups of the pool; admitting a few and refusing the rest keeps both answering.
 */
export class Admission {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly settings: AdmissionSettings) {}

  /** Searches running and waiting now (for tests and metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.queue.length };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  private enter(): Promise<void> {
    if (this.running < this.settings.maxRunning) {
      this.running++;
      return Promise.resolve();
    }
    const { maxRunning, queueLength, queueWaitMs } = this.settings;
    if (this.queue.length >= queueLength) {
      return Promise.reject(
        new BusyError(
          `the gateway is busy: ${maxRunning} searches are running (DUCKDB_MAX_QUERIES) and ${queueLength} are waiting (DUCKDB_QUEUE_LENGTH); retry shortly`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        // The slot passes straight from the leaving search to this one: `running` stays the same.
        admit: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          reject(
            new BusyError(
              `the gateway is busy: no search slot freed within ${queueWaitMs} ms (DUCKDB_QUEUE_WAIT_MS; ${maxRunning} run at once, DUCKDB_MAX_QUERIES); retry shortly`,
            ),
          );
        }, queueWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  private leave(): void {
    const next = this.queue.shift();
    if (next) next.admit();
    else this.running--;
  }
}
