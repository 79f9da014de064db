/**
 * Injects a SEA blob into a Linux Node binary the way postject's runtime lookup expects it — an ELF note named
 * `NODE_SEA_BLOB` inside a PT_NOTE segment — and flips the sentinel fuse, without rewriting anything else.
 *
 * Why not only postject: postject 1.0.0-alpha.6 vendors LIEF 0.13, which rebuilds the whole ELF. On the arm64
 * Node 24 binary it moves the program headers to an unaligned offset, rewrites `.gnu.hash` (nodejs/postject#105)
 * and copies the annobin `.gnu.build.attributes` into the note segment as garbage notes; with a small blob the
 * result ran as an empty SEA and exited 0. Today's bundle happens to survive it.
 *
 * This writer only appends: a new page-aligned region at the end of the file holds a copy of the program header
 * table plus two new entries (a PT_LOAD for the region and a PT_NOTE for the blob) and the note itself;
 * `e_phoff`/`e_phnum` and PT_PHDR then point there. Sections, symbols and every existing byte stay where they
 * were, so `process.dlopen` of addons still resolves `napi_*` from the executable.
 */
import { readFile, writeFile } from 'node:fs/promises'

const PT_LOAD = 1
const PT_NOTE = 4
const PT_PHDR = 6
const PF_R = 4
const PHDR_SIZE = 56
/** 64 KiB: the largest page size arm64 Linux kernels use, so the new segment maps on every gateway. */
const REGION_ALIGN = 0x10000

export interface InjectOptions {
  /** The note name the runtime looks for. @default 'NODE_SEA_BLOB' */
  noteName?: string
  /** The sentinel whose `:0` suffix becomes `:1`. */
  sentinelFuse: string
}

interface Phdr { type: number; flags: number; offset: bigint; vaddr: bigint; paddr: bigint; filesz: bigint; memsz: bigint; align: bigint }

function readPhdr (buf: Buffer, at: number): Phdr {
  return {
    type: buf.readUInt32LE(at),
    flags: buf.readUInt32LE(at + 4),
    offset: buf.readBigUInt64LE(at + 8),
    vaddr: buf.readBigUInt64LE(at + 16),
    paddr: buf.readBigUInt64LE(at + 24),
    filesz: buf.readBigUInt64LE(at + 32),
    memsz: buf.readBigUInt64LE(at + 40),
    align: buf.readBigUInt64LE(at + 48),
  }
}

function writePhdr (buf: Buffer, at: number, p: Phdr): void {
  buf.writeUInt32LE(p.type, at)
  buf.writeUInt32LE(p.flags, at + 4)
  buf.writeBigUInt64LE(p.offset, at + 8)
  buf.writeBigUInt64LE(p.vaddr, at + 16)
  buf.writeBigUInt64LE(p.paddr, at + 24)
  buf.writeBigUInt64LE(p.filesz, at + 32)
  buf.writeBigUInt64LE(p.memsz, at + 40)
  buf.writeBigUInt64LE(p.align, at + 48)
}

const align = (n: bigint, a: bigint): bigint => (n + a - 1n) / a * a

/** An ELF note: namesz, descsz, type, then name and desc each padded to 4 bytes. */
function elfNote (name: string, desc: Buffer): Buffer {
  const nameBytes = Buffer.from(name + '\0', 'latin1')
  const namePad = Number(align(BigInt(nameBytes.length), 4n))
  const descPad = Number(align(BigInt(desc.length), 4n))
  const note = Buffer.alloc(12 + namePad + descPad)
  note.writeUInt32LE(nameBytes.length, 0)
  note.writeUInt32LE(desc.length, 4)
  note.writeUInt32LE(0, 8)
  nameBytes.copy(note, 12)
  desc.copy(note, 12 + namePad)
  return note
}

export function injectNote (elf: Buffer, blob: Buffer, opts: InjectOptions): Buffer {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file')
  const noteName = opts.noteName ?? 'NODE_SEA_BLOB'
  const phoff = Number(elf.readBigUInt64LE(32))
  const phentsize = elf.readUInt16LE(54)
  const phnum = elf.readUInt16LE(56)
  if (phentsize !== PHDR_SIZE) throw new Error(`unexpected program header size ${phentsize}`)
  const phdrs = Array.from({ length: phnum }, (_, i) => readPhdr(elf, phoff + i * PHDR_SIZE))
  if (phdrs.some((p) => p.type === PT_NOTE && elf.subarray(Number(p.offset), Number(p.offset + p.filesz)).includes(noteName))) {
    throw new Error(`${noteName} is already injected`)
  }
  const loads = phdrs.filter((p) => p.type === PT_LOAD)
  // The image base: where file offset 0 is mapped (0x400000 for Node's non-PIE builds, 0 for PIE).
  const first = loads.find((p) => p.offset === 0n)
  if (first === undefined) throw new Error('no PT_LOAD maps file offset 0')
  const base = first.vaddr
  const imageEnd = loads.reduce((m, p) => (p.vaddr + p.memsz > m ? p.vaddr + p.memsz : m), 0n)

  // The region keeps vaddr = base + offset, which old kernels assume when they compute AT_PHDR from e_phoff.
  let offset = align(BigInt(elf.length), BigInt(REGION_ALIGN))
  while (base + offset < imageEnd) offset += BigInt(REGION_ALIGN)
  const vaddr = base + offset

  const newPhnum = phnum + 2
  const tableSize = BigInt(newPhnum * PHDR_SIZE)
  const note = elfNote(noteName, blob)
  const noteOffset = offset + tableSize
  const regionSize = tableSize + BigInt(note.length)

  const table = Buffer.alloc(Number(tableSize))
  phdrs.forEach((p, i) => {
    const q = p.type === PT_PHDR ? { ...p, offset, vaddr, paddr: vaddr, filesz: tableSize, memsz: tableSize } : p
    writePhdr(table, i * PHDR_SIZE, q)
  })
  // PT_LOAD entries must stay sorted by vaddr, and ours is the highest; the loader does not care where the
  // PT_NOTE sits, so both go last.
  writePhdr(table, phnum * PHDR_SIZE, { type: PT_LOAD, flags: PF_R, offset, vaddr, paddr: vaddr, filesz: regionSize, memsz: regionSize, align: BigInt(REGION_ALIGN) })
  writePhdr(table, (phnum + 1) * PHDR_SIZE, { type: PT_NOTE, flags: PF_R, offset: noteOffset, vaddr: vaddr + tableSize, paddr: vaddr + tableSize, filesz: BigInt(note.length), memsz: BigInt(note.length), align: 4n })

  const out = Buffer.concat([elf, Buffer.alloc(Number(offset) - elf.length), table, note])
  out.writeBigUInt64LE(offset, 32)
  out.writeUInt16LE(newPhnum, 56)
  flipFuse(out, opts.sentinelFuse)
  return out
}

/** Node checks `<sentinel>:1` to know it carries a blob; the sentinel must occur exactly once. */
function flipFuse (buf: Buffer, sentinel: string): void {
  const needle = Buffer.from(`${sentinel}:`, 'latin1')
  const at = buf.indexOf(needle)
  if (at < 0) throw new Error(`sentinel ${sentinel} not found`)
  if (buf.indexOf(needle, at + 1) >= 0) throw new Error(`sentinel ${sentinel} occurs more than once`)
  const flag = at + needle.length
  if (buf[flag] === 0x31) throw new Error('the sentinel fuse is already set: the binary already carries a blob')
  if (buf[flag] !== 0x30) throw new Error('unexpected sentinel fuse value')
  buf[flag] = 0x31
}

export async function injectFile (file: string, blobFile: string, opts: InjectOptions): Promise<void> {
  const [elf, blob] = await Promise.all([readFile(file), readFile(blobFile)])
  await writeFile(file, injectNote(elf, blob, opts))
}
