export { LevelPersistence } from './level-persistence.ts'
export type { AedesAsyncPersistence, BrokerPacket, BrokerRef, ClientRef, DroppedSession, SessionExpiryStore, SubscriptionIn, TopicSubscription } from './types.ts'
export type { OfflineSession } from './offline-sessions.ts'
