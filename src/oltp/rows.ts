// The shape of an entity row as every layer passes it around, and its EAV value columns.
import { TYPE_MAPPING, type AttributeValue, type EavValueColumn, type JsonValue, type LakeAttribute } from '../catalog/index.js';

export interface EntityRow {
  row_id: string;
  time_slot: bigint;
  /** Soft-delete mark (ms); null while the row is live. */
  deleted_at: bigint | null;
  values: Record<string, AttributeValue>;
  /**
   * Stored values of attributes this process's definition lacks (added by a newer one, or dropped
   * from this one), in change_log snapshot form: read so a change keeps them, never shown.
   */
  carried?: Record<string, JsonValue>;
}

export const EAV_VALUE_COLUMNS: readonly EavValueColumn[] = [
  'v_text',
  'v_int',
  'v_float',
  'v_bool',
  'v_ts',
  'v_date',
  'v_uuid',
  'v_json',
];

/** The parameter pg sends for a value in its EAV column (int64 as text keeps it exact). */
export function eavParam(attribute: LakeAttribute, value: AttributeValue): unknown {
  if (value === null) return null;
  switch (attribute.type) {
    case 'int':
      return (value as bigint).toString();
    case 'json':
      return JSON.stringify(value);
    default:
      return value;
  }
}

export function eavColumnOf(attribute: LakeAttribute): EavValueColumn {
  return TYPE_MAPPING[attribute.type].eavColumn;
}
