// The admin API (flush, lake_status, jobs): maintenance behind the admin credential.
import { type EntityLakeStatus, type FlushReport, type GatewayBuilder, type JobReport } from './builder.js';

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

  builder.queryField('lake_status', (t) =>
    t.field({
      type: [lakeStatus],
      nullable: false,
      description: 'Per entity: buffered changes, lake files and the last flush',
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
