export { BindingHost, componentHash, topicsFor, type BindingHostOptions, type BindingCreator, type HostedBindingInfo, type BindingTopics } from './host.ts'
export { appDelivery, type AppCaller, type DeliverToApp, type AppDeliveryOptions } from './deliver.ts'
