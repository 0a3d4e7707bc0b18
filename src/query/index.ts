// Public face of the query room: the filter IR, the merge-on-read engine and the search questions.
export { Admission, type AdmissionSettings } from './admission.js';
export { QueryEngine, type QueryEngineDeps, type QueryFaults, type Statement } from './engine.js';
export { MAX_IN_VALUES, SYSTEM_COLUMNS, escapeLike, operatorsOf, parseWhere, referencedEntities, rowIdCandidates, type ColumnRef, type CompareOp, type Filter, type FilterValue } from './filter.js';
export {
  SearchService,
  TIME_BUCKETS,
  toEntityRow,
  type AggregateGroup,
  type AggregateRequest,
  type AggregateValues,
  type GroupKey,
  type OrderTerm,
  type PageArgs,
  type TimeBucket,
} from './search.js';
export { verifyEntity, type VerifyReport } from './verify.js';
