// Public face of the query room: the filter IR, the merge-on-read engine and the search questions.
export { Admission, type AdmissionSettings } from './admission.js';
export { AggregateCache, type AggregateCacheStats } from './aggregate-cache.js';
export { QueryEngine, type BuildStatement, type QueryEngineDeps, type QueryFaults, type SnapshotHandle, type Statement, type ViewOf } from './engine.js';
export {
  AGGREGATE_VALUE,
  FALSE,
  MAX_IN_VALUES,
  SYSTEM_COLUMNS,
  TRUE,
  allOf,
  coerceFilterValue,
  escapeLike,
  isTrue,
  referencedEntities,
  rowIdCandidates,
  type AggregateFunction as PredicateFunction,
  type ColumnRef,
  type CompareOp,
  type Filter,
  type FilterValue,
  type RelatedAggregate,
} from './filter.js';
export { FILE_TABLE_DEFAULTS, FileTables, type FileTableSettings } from './file-tables.js';
export { SearchService } from './search.js';
export { TIME_BUCKETS, type AggregateGroup, type AggregateValues, type TimeBucket } from './aggregates.js';
export {
  AGGREGATE_FUNCTIONS,
  SPREAD_FUNCTIONS,
  attributesFor,
  havingValue,
  measureType,
  parseTimeZone,
  planAggregate,
  type AggregateFunction,
  type AggregatePlan,
  type AggregateQuestion,
  type AggregateRequest,
  type GroupKey,
  type GroupOrder,
  type Having,
  type HavingOp,
  type Measure,
} from './aggregate-plan.js';
export { pagePlan, type PageArgs } from './pages.js';
export { compilePage } from './compile-page.js';
export {
  CHILD_AGGREGATES,
  DISTINCT_ON_MISMATCH,
  checkDistinctOn,
  planEntities,
  type ChildAggregate,
  type ChildAggregateOrder,
  type ColumnOrder,
  type NullsOrder,
  type OrderTerm,
  type PagePlan,
  type ParentBatch,
  type RowFilters,
  NO_ROW_FILTERS,
  type RelatedOrder,
  type SortDirection,
} from './plan.js';
export { toEntityRow } from './rows.js';
export { verifyEntity, type VerifyReport } from './verify.js';
