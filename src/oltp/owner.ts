// One owner per embedded data directory: the process running its Postgres records itself in a
// file beside it, so a second `npm start` or a CLI command never stops a server a live gateway uses.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';

export interface DataDirOwner {
  pid: number;
  /** The kernel's start time of `pid` (Linux /proc), so a reused pid is not taken for the owner. */
  startTime: string | null;
  /** Port of the owner's embedded Postgres. */
  port: number;
}

export type OwnershipClaim = { claimed: true; release(): Promise<void> } | { claimed: false; owner: DataDirOwner };

/** Field 22 of /proc/<pid>/stat (clock ticks since boot), or null off Linux or for a gone process. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerAlive(owner: DataDirOwner): boolean {
  if (!processAlive(owner.pid)) return false;
  const now = startTimeOf(owner.pid);
  return owner.startTime === null || now === null || now === owner.startTime;
}

async function readOwner(file: string): Promise<DataDirOwner | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<DataDirOwner>;
    if (!Number.isInteger(parsed.pid) || !Number.isInteger(parsed.port)) return null;
    return { pid: parsed.pid!, port: parsed.port!, startTime: typeof parsed.startTime === 'string' ? parsed.startTime : null };
  } catch {
    return null; // missing or unreadable: nobody we could talk to owns it
  }
}

/** The live owner recorded in `file`, if any (a file left by a killed process names no one). */
export async function liveOwner(file: string): Promise<DataDirOwner | null> {
  const owner = await readOwner(file);
  return owner && ownerAlive(owner) ? owner : null;
}

/**
 * Makes this process the owner recorded in `file`, or names the live owner. The record is written
 * to a temporary file and hard-linked into place, so it appears whole and only if absent; a record
 * whose process is gone (SIGKILL, power loss) is replaced.
 */
export async function claimOwnership(file: string, port: number): Promise<OwnershipClaim> {
  const me: DataDirOwner = { pid: process.pid, startTime: startTimeOf(process.pid), port };
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify(me)}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.link(temp, file);
        return { claimed: true, release: () => releaseOwnership(file) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(file);
      if (owner && ownerAlive(owner)) return { claimed: false, owner };
      await fs.rm(file, { force: true });
    }
    throw new Error(`could not record this process as the owner in ${file}: another process kept replacing it`);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Removes the record if it still names this process (never another owner's). */
async function releaseOwnership(file: string): Promise<void> {
  const owner = await readOwner(file);
  if (owner?.pid === process.pid) await fs.rm(file, { force: true });
}
