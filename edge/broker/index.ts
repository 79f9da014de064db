export { MqttBroker, type BrokerOptions } from './broker.ts'
export { Acl, topicMatches } from './acl.ts'
