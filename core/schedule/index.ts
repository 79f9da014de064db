export { parseSchedule, scheduleProblem, tryParseSchedule, type Schedule, type ScheduleOptions } from './schedule.ts'
export { formatDuration, goDurationMs, parseGoDuration } from './duration.ts'
export { addIsoDuration, parseRfc3339, parseTimePoint } from './time-point.ts'
export { DESCRIPTORS } from './cron.ts'
