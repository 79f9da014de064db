export { LevelPersistence } from './level-persistence.ts'
export type { AedesAsyncPersistence, BrokerPacket, BrokerRef, ClientRef, SubscriptionIn, TopicSubscription } from './types.ts'
