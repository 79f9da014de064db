export type * from './types.ts'
export { BindingRegistry, type BindingDefinition } from './registry.ts'
export { BaseBinding } from './base.ts'
export { MetadataReader, HOST_METADATA_KEYS, hostMetadataProblems, metadataPath } from './metadata.ts'
