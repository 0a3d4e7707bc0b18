// In-process scheduler: runs named tasks every interval, never overlapping itself; stop waits.
// A task that keeps failing is logged when it starts failing and when it works again, not every run.
import type { Logger } from 'pino';

export interface Scheduler {
  every(name: string, intervalMs: number, task: () => Promise<void>): void;
  /** Stops scheduling and waits for running tasks to finish. */
  stop(): Promise<void>;
}

export function createScheduler(log: Logger): Scheduler {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let stopped = false;
  return {
    every(name, intervalMs, task) {
      let failures = 0;
      const tick = () => {
        if (stopped) return;
        const run = task()
          .then(
            () => {
              if (failures > 0) log.info({ task: name, failures }, `${name} works again after ${failures} failed runs`);
              failures = 0;
            },
            (error: unknown) => {
              failures++;
              if (failures === 1) log.error({ err: error, task: name }, `${name} failed (logged again when it works)`);
              else log.debug({ err: error, task: name, failures }, `${name} failed again`);
            },
          )
          .finally(() => {
            running.delete(run);
            if (!stopped) schedule();
          });
        running.add(run);
      };
      // Re-armed after each run, so a slow run delays the next instead of piling up.
      const schedule = () => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          tick();
        }, intervalMs);
        timer.unref();
        timers.add(timer);
      };
      schedule();
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}
