// The admin API (flush, compact, verify, rebuild, lake_status, jobs): maintenance behind the admin credential.
// Every call is scoped to the project of the endpoint it came to: an entity name is looked up in
// that project, lake_status and jobs list its entities only. The admin credential reaches another
// project through that project's endpoint.
import type { EntitySchema } from '../catalog/index.js';
import {
  type CompactReport,
  type EntityLakeStatus,
  type FlushReport,
  type GatewayBuilder,
  type GatewayContext,
  type JobReport,
  type RebuildResult,
  type VerifyResult,
} from './builder.js';

/** The entity `name` of the endpoint's project (NotFoundError for a name only another project defines). */
function entityOf(ctx: GatewayContext, name: string): EntitySchema {
  return ctx.services.catalog.entity(name, ctx.project);
}

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
      resolve: (_root, args, ctx) => ctx.services.admin.flush(entityOf(ctx, args.entity), args.force ?? false),
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
      resolve: (_root, args, ctx) => ctx.services.admin.compact(entityOf(ctx, args.entity), args.force ?? false),
    }),
  );

  const verifyResult = builder.objectRef<VerifyResult>('verify_result').implement({
    description: 'The merge-on-read answer of an entity compared with the OLTP truth (every live row, its current time_slot and values)',
    fields: (t) => ({
      entity: t.exposeString('entity', { nullable: false }),
      ok: t.exposeBoolean('ok', { nullable: false, description: 'true when the lake answers exactly the truth (changes committed meanwhile aside)' }),
      truth_rows: t.exposeInt('truth_rows', { nullable: false, description: 'Live rows in the OLTP store' }),
      lake_rows: t.exposeInt('lake_rows', { description: 'Rows the merge-on-read answers; null when the lake could not be read' }),
      missing: t.exposeInt('missing', { nullable: false, description: 'Live rows the lake lacks' }),
      extra: t.exposeInt('extra', { nullable: false, description: 'Rows the lake answers that are not live in the truth' }),
      different: t.exposeInt('different', { nullable: false, description: 'Rows whose time_slot or values differ' }),
      duplicated: t.exposeInt('duplicated', { nullable: false, description: 'row_ids the lake answers more than once' }),
      concurrent: t.exposeInt('concurrent', { nullable: false, description: 'Mismatches of rows changed while verify ran (not drift)' }),
      missing_examples: t.exposeStringList('missing_examples', { nullable: false }),
      extra_examples: t.exposeStringList('extra_examples', { nullable: false }),
      different_examples: t.exposeStringList('different_examples', { nullable: false }),
      duplicated_examples: t.exposeStringList('duplicated_examples', { nullable: false }),
      truth_hash: t.exposeString('truth_hash', { nullable: false, description: 'Order-independent hash of the truth rows' }),
      lake_hash: t.exposeString('lake_hash', { description: 'The same hash of the lake rows' }),
      truth_slot: t.field({ type: 'BigInt', nullable: false, description: 'The time_slot the truth was read at', resolve: (r) => r.truth_slot }),
      error: t.exposeString('error', { description: 'Why the lake could not be read (e.g. a file missing from the store)' }),
      duration_ms: t.exposeInt('duration_ms', { nullable: false }),
    }),
  });

  const rebuildResult = builder.objectRef<RebuildResult>('rebuild_result').implement({
    description: 'What a rebuild of an entity’s lake from the OLTP truth did',
    fields: (t) => ({
      entity: t.exposeString('entity', { nullable: false }),
      rebuilt: t.exposeBoolean('rebuilt', { nullable: false, description: 'false when nothing was written; see reason' }),
      reason: t.exposeString('reason', { nullable: false }),
      rows: t.exposeInt('rows', { nullable: false, description: 'Live rows written to the new base files' }),
      up_to_slot: t.field({ type: 'BigInt', description: 'The new files hold every change up to this time_slot', resolve: (r) => r.up_to_slot }),
      buffered_absorbed: t.exposeInt('buffered_absorbed', { nullable: false, description: 'Buffered changes the new files now hold (deleted from change_log)' }),
      removed: t.exposeStringList('removed', { nullable: false, description: 'Keys of the files retired; deleted after ORPHAN_GRACE_MS' }),
      added: t.field({ type: [compactedFile], nullable: false, resolve: (r) => r.added }),
      duration_ms: t.exposeInt('duration_ms', { nullable: false }),
    }),
  });

  builder.mutationField('verify', (t) =>
    t.field({
      type: verifyResult,
      nullable: false,
      description: 'Compare an entity’s merge-on-read answer with the OLTP truth: counts, hashes and example row_ids of any drift',
      authScopes: { admin: true },
      args: { entity: t.arg.string({ required: true, description: 'Entity name, e.g. "orders"' }) },
      resolve: (_root, args, ctx) => ctx.services.admin.verify(entityOf(ctx, args.entity)),
    }),
  );

  builder.mutationField('rebuild', (t) =>
    t.field({
      type: rebuildResult,
      nullable: false,
      description: 'Write an entity’s lake afresh from the OLTP truth and swap it in for every live file in one manifest transaction (for a lost or damaged lake)',
      authScopes: { admin: true },
      args: { entity: t.arg.string({ required: true, description: 'Entity name, e.g. "orders"' }) },
      resolve: (_root, args, ctx) => ctx.services.admin.rebuild(entityOf(ctx, args.entity)),
    }),
  );

  builder.queryField('lake_status', (t) =>
    t.field({
      type: [lakeStatus],
      nullable: false,
      description: 'Per entity: buffered changes, lake files, the last flush and compaction, and failures',
      authScopes: { admin: true },
      resolve: (_root, _args, ctx) => ctx.services.admin.lakeStatus(ctx.project),
    }),
  );

  builder.queryField('jobs', (t) =>
    t.field({
      type: [job],
      nullable: false,
      description: 'Recent flush, compaction and garbage collection runs, newest first',
      authScopes: { admin: true },
      args: { limit: t.arg.int({ defaultValue: 50 }) },
      resolve: (_root, args, ctx) => ctx.services.admin.jobs(Math.min(Math.max(args.limit ?? 50, 1), 1_000), ctx.project),
    }),
  );
}
