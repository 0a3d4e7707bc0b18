// The admin API (flush, compact, lake_status, jobs): maintenance behind the admin credential.
import { type CompactReport, type EntityLakeStatus, type FlushReport, type GatewayBuilder, type JobReport } from './builder.js';

export function defineAdmin(builder: GatewayBuilder): void {
  const flushResult = builder.objectRef<FlushReport>('flush_result').implement({
    description: 'What a flush did',
    fields: (t) => ({
      entity: t.exposeString('entity', { nullable: false }),
      flushed: t.exposeBoolean('flushed', { nullable: false, description: 'false when nothing was written; see reason' }),
      reason: t.exposeString('reason', { nullable: false }),
      rows: t.exposeInt('rows', { nullable: false, description: 'Changes written to the delta file' }),
      path: t.exposeString('path', { description: 'Key of the new delta file under the lake root' }),
      bytes: t.exposeInt('bytes', { nullable: false }),
      duration_ms: t.exposeInt('duration_ms', { nullable: false }),
    }),
  });

  const compactedFile = builder.objectRef<CompactReport['added'][number]>('compacted_file').implement({
    description: 'A file a compaction wrote',
    fields: (t) => ({
      path: t.exposeString('path', { nullable: false, description: 'Key under the lake root' }),
      kind: t.exposeString('kind', { nullable: false, description: 'base or delta' }),
      role: t.exposeString('role', {
        nullable: false,
        description: 'present (new row_ids), historical (a fixed row_id range) or kept (changes to historical files below the dirty ratio)',
      }),
      rows: t.exposeInt('rows', { nullable: false }),
      bytes: t.exposeFloat('bytes', { nullable: false }),
    }),
  });

  const compactResult = builder.objectRef<CompactReport>('compact_result').implement({
    description: 'What a compaction did',
    fields: (t) => ({
      entity: t.exposeString('entity', { nullable: false }),
      compacted: t.exposeBoolean('compacted', { nullable: false, description: 'false when nothing was written; see reason' }),
      reason: t.exposeString('reason', { nullable: false }),
      removed: t.exposeStringList('removed', { nullable: false, description: 'Keys of the files replaced; deleted after ORPHAN_GRACE_MS' }),
      added: t.field({ type: [compactedFile], nullable: false, resolve: (r) => r.added }),
      rewritten: t.exposeInt('rewritten', { nullable: false, description: 'Historical base files rewritten (dirty ratio above COMPACT_DIRTY_RATIO)' }),
      rolled_over: t.exposeBoolean('rolled_over', {
        nullable: false,
        description: 'Whether the present file passed COMPACT_BASE_TARGET_MB and became a historical one',
      }),
      duration_ms: t.exposeInt('duration_ms', { nullable: false }),
    }),
  });

  const lakeStatus = builder.objectRef<EntityLakeStatus>('lake_entity_status').implement({
    description: 'The lake state of one entity',
    fields: (t) => ({
      entity: t.exposeString('entity', { nullable: false }),
      project: t.exposeString('project', { nullable: false }),
      schema_id: t.exposeInt('schema_id', { nullable: false }),
      buffered_rows: t.exposeInt('buffered_rows', { nullable: false, description: 'Changes in change_log not yet flushed' }),
      oldest_buffered_age_ms: t.exposeFloat('oldest_buffered_age_ms', { description: 'Age of the oldest unflushed change' }),
      delta_files: t.exposeInt('delta_files', { nullable: false }),
      delta_bytes: t.exposeFloat('delta_bytes', { nullable: false }),
      base_files: t.exposeInt('base_files', { nullable: false }),
      base_bytes: t.exposeFloat('base_bytes', { nullable: false }),
      last_flush_at: t.field({ type: 'DateTime', resolve: (s) => s.last_flush_at }),
      last_compaction_at: t.field({ type: 'DateTime', resolve: (s) => s.last_compaction_at }),
      last_error: t.exposeString('last_error', {
        description: 'The most recent failed flush or compaction ("flush: …" / "compaction: …"); kept after a success, see consecutive_failures',
      }),
      last_error_at: t.field({ type: 'DateTime', resolve: (s) => s.last_error_at }),
      consecutive_failures: t.exposeInt('consecutive_failures', {
        nullable: false,
        description: 'Flushes and compactions that failed since each last succeeded (0: healthy), from every process',
      }),
      retry_at: t.field({
        type: 'DateTime',
        description: 'When this process’s workers next try the failing work (exponential backoff); null when not backing off',
        resolve: (s) => s.retry_at,
      }),
    }),
  });

  const job = builder.objectRef<JobReport>('lake_job').implement({
    description: 'One flush, compaction or garbage collection run',
    fields: (t) => ({
      job_id: t.field({ type: 'BigInt', nullable: false, resolve: (j) => j.job_id }),
      kind: t.exposeString('kind', { nullable: false }),
      entity: t.exposeString('entity'),
      trigger: t.exposeString('trigger', { nullable: false }),
      status: t.exposeString('status', { nullable: false }),
      started_at: t.field({ type: 'DateTime', nullable: false, resolve: (j) => j.started_at }),
      finished_at: t.field({ type: 'DateTime', resolve: (j) => j.finished_at }),
      details: t.field({ type: 'JSON', resolve: (j) => j.details }),
      error: t.exposeString('error'),
    }),
  });

  builder.mutationField('flush', (t) =>
    t.field({
      type: flushResult,
      nullable: false,
      description: 'Flush an entity’s buffered changes to a delta file now: when a trigger fires, or always with force',
      authScopes: { admin: true },
      args: {
        entity: t.arg.string({ required: true, description: 'Entity name, e.g. "orders"' }),
        force: t.arg.boolean({ defaultValue: false, description: 'Flush even below the row and age thresholds' }),
      },
      resolve: (_root, args, ctx) => ctx.services.admin.flush(ctx.services.catalog.entity(args.entity), args.force ?? false),
    }),
  );

  builder.mutationField('compact', (t) =>
    t.field({
      type: compactResult,
      nullable: false,
      description: 'Compact an entity’s delta files into base files now: when a trigger fires, or always with force',
      authScopes: { admin: true },
      args: {
        entity: t.arg.string({ required: true, description: 'Entity name, e.g. "orders"' }),
        force: t.arg.boolean({ defaultValue: false, description: 'Compact even below COMPACT_MIN_DELTA_FILES and COMPACT_MAX_DELTA_AGE_MS' }),
      },
      resolve: (_root, args, ctx) => ctx.services.admin.compact(ctx.services.catalog.entity(args.entity), args.force ?? false),
    }),
  );

  builder.queryField('lake_status', (t) =>
    t.field({
      type: [lakeStatus],
      nullable: false,
      description: 'Per entity: buffered changes, lake files, the last flush and compaction, and failures',
      authScopes: { admin: true },
      resolve: (_root, _args, ctx) => ctx.services.admin.lakeStatus(),
    }),
  );

  builder.queryField('jobs', (t) =>
    t.field({
      type: [job],
      nullable: false,
      description: 'Recent flush, compaction and garbage collection runs, newest first',
      authScopes: { admin: true },
      args: { limit: t.arg.int({ defaultValue: 50 }) },
      resolve: (_root, args, ctx) => ctx.services.admin.jobs(Math.min(Math.max(args.limit ?? 50, 1), 1_000)),
    }),
  );
}
