/**
 * The `dapr.proto.runtime.v1.Dapr` methods Mecha serves (dapr/proto/runtime/v1/dapr.proto). The others are
 * not in the descriptor, so gRPC answers them UNIMPLEMENTED by itself (actors, secrets, configuration,
 * crypto, workflows, conversation).
 */
export const DAPR_METHODS = [
  'InvokeService', 'GetState', 'GetBulkState', 'SaveState', 'QueryStateAlpha1', 'DeleteState', 'DeleteBulkState',
  'ExecuteStateTransaction', 'PublishEvent', 'BulkPublishEventAlpha1', 'BulkPublishEvent', 'SubscribeTopicEventsAlpha1',
  'InvokeBinding', 'TryLockAlpha1', 'UnlockAlpha1', 'GetMetadata', 'SetMetadata', 'Shutdown',
  'ScheduleJobAlpha1', 'GetJobAlpha1', 'DeleteJobAlpha1',
] as const

export type DaprMethod = typeof DAPR_METHODS[number]
