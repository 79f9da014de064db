import { Duplex } from 'node:stream'

/** Two connected in-memory duplex streams (node 20 has no `stream.duplexPair`): what one writes the other reads. */
export function duplexPair (): [Duplex, Duplex] {
  let a: Duplex
  let b: Duplex
  const make = (peer: () => Duplex): Duplex => new Duplex({
    read () {},
    write (chunk: Buffer, _enc, cb) { peer().push(chunk); cb() },
    final (cb) { peer().push(null); cb() },
    destroy (err, cb) { const p = peer(); if (!p.destroyed) p.destroy(); cb(err) },
  })
  a = make(() => b)
  b = make(() => a)
  return [a, b]
}
