/** The broker's topic ACL as a unit: first applying rule decides, no match denies, `$` topics under `#`. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Acl } from '../../edge/broker/acl.ts'
import type { AclRule } from '../../core/config/index.ts'

const anon = { clientId: 'c1' }
/** The ACL of the Paho interoperability suite's broker: one denied topic, everything else allowed. */
const interop: AclRule[] = [
  { topic: 'test/nosubscribe', access: 'both', allow: false },
  { topic: '#', access: 'both', allow: true },
]

test('acl - no rules allow everything; with rules the first that applies decides and no match denies', () => {
  assert.ok(new Acl([]).allows(anon, 'publish', 'any/topic'))
  const acl = new Acl(interop)
  assert.not.ok(acl.allows(anon, 'subscribe', 'test/nosubscribe'))
  assert.not.ok(acl.allows(anon, 'publish', 'test/nosubscribe'))
  assert.ok(acl.allows(anon, 'subscribe', 'TopicA/#'))
  assert.ok(acl.allows(anon, 'publish', 'TopicA/B'))
  const narrow = new Acl([{ topic: 'sensors/+/temp', access: 'publish', allow: true }])
  assert.ok(narrow.allows(anon, 'publish', 'sensors/a/temp'))
  assert.not.ok(narrow.allows(anon, 'publish', 'sensors/a/temp/x'))
  assert.not.ok(narrow.allows(anon, 'subscribe', 'sensors/a/temp'), 'a publish rule does not grant subscribe')
})

test('acl - a rule `#` covers `$` topics: [MQTT-4.7.2-1] is about subscriptions matching, not access rules', () => {
  const acl = new Acl(interop)
  // mosquitto 2 with this ACL lets the Paho suite's client publish to `$TopicA/B`; we disconnected it.
  assert.ok(acl.allows(anon, 'publish', '$TopicA/B'))
  assert.ok(acl.allows(anon, 'subscribe', '$TopicA/#'))
  assert.ok(acl.allows(anon, 'subscribe', '$SYS/#'), 'reading $SYS under an allow-all rule')
  // A leading `+` in a rule names every first level, `$` ones included; a literal rule still names only itself.
  assert.ok(new Acl([{ topic: '+/B', access: 'publish', allow: true }]).allows(anon, 'publish', '$TopicA/B'))
  assert.not.ok(new Acl([{ topic: 'TopicA/#', access: 'publish', allow: true }]).allows(anon, 'publish', '$TopicA/B'))
  // A deny rule `#` denies `$` topics as well (before, it silently skipped them and a later rule decided).
  const closed = new Acl([{ topic: '#', access: 'publish', allow: false }, { topic: '$TopicA/#', access: 'publish', allow: true }])
  assert.not.ok(closed.allows(anon, 'publish', '$TopicA/B'))
})

test('acl - %u and %c patterns; a client without a username never matches a %u rule', () => {
  const acl = new Acl([{ topic: 'users/%u/#', access: 'both', allow: true }, { topic: 'clients/%c/out', access: 'publish', allow: true }])
  assert.ok(acl.allows({ username: 'bob', clientId: 'b' }, 'publish', 'users/bob/inbox'))
  assert.not.ok(acl.allows({ username: 'bob', clientId: 'b' }, 'publish', 'users/alice/inbox'))
  assert.not.ok(acl.allows({ clientId: 'b' }, 'publish', 'users//inbox'))
  assert.ok(acl.allows({ clientId: 'dev-7' }, 'publish', 'clients/dev-7/out'))
  assert.not.ok(acl.allows({ clientId: 'dev-7' }, 'publish', 'clients/dev-8/out'))
})

test.run()
