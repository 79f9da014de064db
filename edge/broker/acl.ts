import type { AclRule } from '../../core/config/index.ts'
import { topicMatches } from '../../core/topics.ts'

export { topicMatches }

/**
 * Whether the topic name `topic` is one that `rule` (an ACL pattern) names. Level by level as a filter matches,
 * except that [MQTT-4.7.2-1] (a filter starting with `#` or `+` does not match `$` topics) is not applied: that
 * clause keeps a catch-all *subscription* from receiving `$SYS` chatter; it says nothing about access rules, and
 * an operator who allows `#` means every topic. Publishing to `$SYS` stays refused by the broker before the ACL
 * is asked. (core's `topicMatches` applies the clause, rightly, for delivery and routing.)
 */
function topicWithin (rule: string, topic: string): boolean {
  const r = rule.split('/')
  const t = topic.split('/')
  for (let i = 0; i < r.length; i++) {
    if (r[i] === '#') return true
    if (i >= t.length) return false
    if (r[i] !== '+' && r[i] !== t[i]) return false
  }
  return r.length === t.length
}

/**
 * Whether `filter` (a subscription) only ever matches topics that `rule` (an ACL pattern) matches. As in
 * `topicWithin`, a leading wildcard in the rule covers `$` levels: the rule `#` allows subscribing to `$SYS/#`.
 */
function filterWithin (rule: string, filter: string): boolean {
  const r = rule.split('/')
  const f = filter.split('/')
  for (let i = 0; i < r.length; i++) {
    if (r[i] === '#') return true
    if (i >= f.length) return false
    if (f[i] === '#') return false
    if (r[i] === '+') continue
    if (f[i] === '+' || f[i] !== r[i]) return false
  }
  return r.length === f.length
}

export interface AclSubject { username?: string; clientId: string }

/**
 * Topic ACL as mosquitto reads it: no rules → everything allowed; with rules, the first rule that applies to
 * the subject, the access and the topic decides, and no match denies. `%u` and `%c` in a rule's topic are
 * replaced by the username and client id (a client without a username never matches a `%u` rule).
 */
export class Acl {
  readonly #rules: readonly AclRule[]

  constructor (rules: readonly AclRule[]) {
    this.#rules = rules
  }

  allows (subject: AclSubject, access: 'publish' | 'subscribe', topic: string): boolean {
    if (this.#rules.length === 0) return true
    for (const rule of this.#rules) {
      if (rule.access !== 'both' && rule.access !== access) continue
      if (rule.user !== undefined && rule.user !== '%u' && rule.user !== subject.username) continue
      if (rule.clientId !== undefined && rule.clientId !== subject.clientId) continue
      if (rule.topic.includes('%u') && subject.username === undefined) continue
      const pattern = rule.topic.replace(/%u/g, subject.username ?? '').replace(/%c/g, subject.clientId)
      const hit = access === 'publish' ? topicWithin(pattern, topic) : filterWithin(pattern, topic)
      if (hit) return rule.allow
    }
    return false
  }
}
