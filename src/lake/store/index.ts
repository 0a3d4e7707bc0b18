// Public face of the object stores.
export { openObjectStore, type ObjectStoreSettings } from './open.js';
export type { ObjectStore, PutResult, StoredObject } from './types.js';
