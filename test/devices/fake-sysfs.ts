/** A temp dir shaped like /sys/class/gpio, with the test playing the kernel (see FakeSysfs). */
import { join } from 'node:path'
import { access, open as openFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'

const exists = async (p: string): Promise<boolean> => await access(p).then(() => true, () => false)

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Changes a value file in place, as the kernel does: a reader holding it open sees "0\n" or "1\n", never a torn write. */
async function pokeValue (path: string, level: 0 | 1): Promise<void> {
  const fh = await openFile(path, 'r+')
  try { await fh.write(Buffer.from(`${level}\n`), 0, 2, 0) } finally { await fh.close() }
}

/**
 * Plays the kernel for a temp dir shaped like /sys/class/gpio: `export`/`unexport` create and remove gpioN/,
 * `direction` high/low becomes `out` at that raw level (`value` then reads it through active_low), as gpiolib-sysfs does.
 */
export class FakeSysfs {
  readonly root: string
  readonly exports: number[] = []
  readonly unexports: number[] = []
  readonly directionWrites: string[] = []
  #timer: NodeJS.Timeout | undefined
  #busy = false
  constructor (root: string) { this.root = root }

  static async create (root: string): Promise<FakeSysfs> {
    await mkdir(root, { recursive: true })
    await writeFile(join(root, 'export'), ''); await writeFile(join(root, 'unexport'), '')
    const k = new FakeSysfs(root)
    k.#timer = setInterval(() => { void k.#tick() }, 2)
    return k
  }

  async #tick (): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    try {
      const ex = (await readFile(join(this.root, 'export'), 'utf8')).trim()
      if (ex !== '') {
        await writeFile(join(this.root, 'export'), '')
        // The kernel makes gpioN/ with all its attributes at once: build it aside, then rename it in.
        const tmp = join(this.root, `.gpio${ex}.new`)
        await mkdir(tmp)
        for (const [f, v] of [['direction', 'in'], ['value', '0'], ['edge', 'none'], ['active_low', '0']]) await writeFile(join(tmp, f!), v + '\n')
        await rename(tmp, join(this.root, `gpio${ex}`))
        this.exports.push(Number(ex))
      }
      const un = (await readFile(join(this.root, 'unexport'), 'utf8')).trim()
      if (un !== '') {
        await writeFile(join(this.root, 'unexport'), '')
        this.unexports.push(Number(un))
        await rm(join(this.root, `gpio${un}`), { recursive: true, force: true })
      }
      for (const name of await readdir(this.root)) {
        if (!/^gpio\d+$/.test(name)) continue
        const d = join(this.root, name)
        const dir = (await readFile(join(d, 'direction'), 'utf8').catch(() => '')).trim()
        if (dir === 'high' || dir === 'low') {
          this.directionWrites.push(`${name}:${dir}`)
          const al = (await readFile(join(d, 'active_low'), 'utf8')).trim() === '1'
          await pokeValue(join(d, 'value'), (Number(dir === 'high') ^ Number(al)) as 0 | 1)
          await writeFile(join(d, 'direction'), 'out\n')
        }
      }
    } catch { /* a file mid-write: next tick */ } finally { this.#busy = false }
  }

  /** The outside world drives an input line (the logical value; the fake keeps active_low at 0). */
  async set (n: number, level: 0 | 1): Promise<void> { await pokeValue(join(this.root, `gpio${n}`, 'value'), level) }
  async value (n: number): Promise<string> { return (await readFile(join(this.root, `gpio${n}`, 'value'), 'utf8')).trim() }
  async file (n: number, f: string): Promise<string> { return (await readFile(join(this.root, `gpio${n}`, f), 'utf8')).trim() }
  async exported (n: number): Promise<boolean> { return await exists(join(this.root, `gpio${n}`)) }
  async stop (): Promise<void> { clearInterval(this.#timer); await until('kernel idle', () => !this.#busy) }
}

