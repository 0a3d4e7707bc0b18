// Public face of the query room: the filter IR, the merge-on-read engine and the search questions.
export { Admission, type AdmissionSettings } from './admission.js';
export { QueryEngine, type QueryEngineDeps, type QueryFaults, type Statement } from './engine.js';
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
  type AggregateFunction,
  type ColumnRef,
  type CompareOp,
  type Filter,
  type FilterValue,
  type RelatedAggregate,
} from './filter.js';
export { SearchService } from './search.js';
export { TIME_BUCKETS, type AggregateGroup, type AggregateRequest, type AggregateValues, type GroupKey, type TimeBucket } from './aggregates.js';
export { type OrderTerm, type PageArgs } from './pages.js';
export { toEntityRow } from './rows.js';
export { verifyEntity, type VerifyReport } from './verify.js';
