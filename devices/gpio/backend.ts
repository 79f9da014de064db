/** The small interface the GPIO binding drives; sysfs.ts and libgpiod.ts implement it. Levels are logical (activeLow applied). */
import type { Level } from './validate.ts'

export interface GpioLine {
  /** Claims the line and sets direction (and the initial level of an output). */
  open(): Promise<void>
  read(): Promise<Level>
  write(level: Level): Promise<void>
  /** Input lines: calls `onLevel` whenever the level is seen to change, `onLost` if the line can no longer be watched. */
  watch(onLevel: (level: Level) => void, onLost: (reason: string) => void): void
  /** Releases the line: unexport / children killed (idempotent). */
  close(): Promise<void>
  /** What `status` shows: `sysfs gpio17`, `gpiochip0 line 17 (libgpiod v1)`. */
  readonly describe: string
}
