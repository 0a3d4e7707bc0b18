// Public face of the catalog: validated EAV schema definitions and the type mapping.
export { Catalog, loadCatalog, type ReverseRelation } from './catalog.js';
export {
  NAME_PATTERN,
  RESERVED_NAMES,
  parseProjectDefinition,
  type Attribute,
  type EntitySchema,
  type LakeAttribute,
  type ProjectDefinition,
} from './definitions.js';
export { ATTRIBUTE_TYPES, TYPE_MAPPING, typeMapping, type AttributeType, type EavValueColumn, type TypeMapping } from './types.js';
export {
  DEFAULT_MAX_VALUE_BYTES,
  DEFAULT_VALUE_POLICY,
  MAX_SAFE_BIGINT,
  MIN_SAFE_BIGINT,
  coerceAttributeValue,
  fromSnapshotJson,
  isUuid,
  parseUuid,
  toSnapshotJson,
  uuidFromBigInt,
  uuidToBigInt,
  type AttributeValue,
  type JsonValue,
  type ValuePolicy,
} from './values.js';
export { nameLiteral, quoteIdent } from './identifiers.js';
export {
  ENTITY_TYPE_SUFFIXES,
  TIME_BUCKETS,
  enumTypeName,
  generatedGraphqlNames,
  graphqlNameProblems,
  groupKeyChoices,
  reverseRelationFieldName,
  type GeneratedName,
  type GroupKeyChoice,
  type NameScope,
  type TimeBucket,
} from './graphql-names.js';
export { definitionChangeProblems, retiredAttributes, type RegisteredAttribute } from './evolution.js';
export {
  ADMIN_ROLE,
  NO_PERMISSIONS,
  QUERY_ROOT_FIELDS,
  isSessionVariable,
  rolesNamed,
  sessionVariableKey,
  type BoolExpJson,
  type ColumnPreset,
  type DeletePermission,
  type EntityPermissions,
  type InsertPermission,
  type QueryRootField,
  type SelectPermission,
  type UpdatePermission,
} from './permissions.js';
