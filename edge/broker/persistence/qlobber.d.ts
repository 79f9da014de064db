// qlobber ships no types; these cover the two classes the broker persistence uses.
// (qlobber is what aedes-persistence and mqemitter match topics with, so matching stays identical.)

declare module 'qlobber' {
  interface QlobberOptions { separator?: string; wildcard_one?: string; wildcard_some?: string; match_empty_levels?: boolean }
  class QlobberTrue {
    constructor (options?: QlobberOptions)
    add (topic: string): this
    test (topic: string): boolean
  }
  const qlobber: { QlobberTrue: typeof QlobberTrue }
  export default qlobber
}

declare module 'qlobber/aedes/qlobber-sub.js' {
  interface QlobberSubValue { clientId: string; topic: string; qos?: number; rh?: number; rap?: boolean; nl?: boolean }
  class QlobberSub {
    constructor (options?: { separator?: string; wildcard_one?: string; wildcard_some?: string })
    /** Subscriptions (client and topic filter pairs) in the trie. */
    subscriptionsCount: number
    add (topic: string, value: QlobberSubValue): this
    remove (topic: string, value: { clientId: string; topic: string }): this
    match (topic: string): QlobberSubValue[]
    clear (): this
  }
  export default QlobberSub
}
