import type { Clock } from '../../../core/clock.ts'
import { MechaError } from '../../../core/errors.ts'
import type { Logger } from '../../../core/logger.ts'
import { hashPassword, verifyPassword } from '../../../core/passwords.ts'
import { LoginLimiter, type LoginLimiterOptions } from './login-limiter.ts'
import { adminHashPath, readAdminHash, writeAdminHash } from './password-file.ts'
import { SessionStore, type Session } from './sessions.ts'
import { SetupCode } from './setup-code.ts'

export const MIN_PASSWORD_LENGTH = 8
const MAX_PASSWORD_LENGTH = 1024

export interface AdminAuthOptions {
  dataDir: string
  log: Logger
  clock: Clock
  /** `ui.session` */
  session?: { idleTimeoutSeconds?: number; maxAgeSeconds?: number }
  limiter?: Omit<LoginLimiterOptions, 'clock'>
}

/**
 * The UI admin login, secure by default: with no password stored (`mecha passwd` or an earlier first login),
 * a one-time setup code is made, logged and written to `<dataDir>/admin-setup-code`; the first login must use
 * it and set a password. Later logins use the password. Every failure counts towards the lockout.
 */
export class AdminAuth {
  readonly sessions: SessionStore
  readonly limiter: LoginLimiter
  readonly #opts: AdminAuthOptions
  #setup: SetupCode | undefined
  /** Claimed by a first login in progress, so two requests with the right code cannot both set a password. */
  #setupClaimed = false

  private constructor (opts: AdminAuthOptions, setup: SetupCode | undefined) {
    this.#opts = opts
    this.#setup = setup
    this.sessions = new SessionStore({ clock: opts.clock, ...opts.session })
    this.limiter = new LoginLimiter({ clock: opts.clock, ...opts.limiter })
  }

  static async create (opts: AdminAuthOptions): Promise<AdminAuth> {
    if (await readAdminHash(opts.dataDir) !== undefined) return new AdminAuth(opts, undefined)
    const { setup, code } = await SetupCode.create(opts.dataDir)
    opts.log.warn({ setupCode: code, file: setup.path, passwordFile: adminHashPath(opts.dataDir) },
      `no UI admin password is set: log in to the UI with the one-time setup code ${code} (also in ${setup.path}) and choose a password, or run \`mecha passwd\``)
    return new AdminAuth(opts, setup)
  }

  /** True while no password is stored: logins need the setup code. */
  async setupRequired (): Promise<boolean> {
    return await readAdminHash(this.#opts.dataDir) === undefined
  }

  /** `{setupCode, newPassword}` on the first login, `{password}` later. Throws MechaErrors with their HTTP status. */
  async login (body: unknown, address: string): Promise<Session> {
    this.#checkLimit(address)
    const b = asObject(body)
    const hash = await readAdminHash(this.#opts.dataDir)
    if (hash === undefined) {
      if (b.setupCode === undefined) throw new MechaError('MECHA_ERR_UI_SETUP_REQUIRED', 'no admin password is set yet: log in with {setupCode, newPassword}')
      if (typeof b.setupCode !== 'string') throw new MechaError('ERR_MALFORMED_REQUEST', 'setupCode must be a string')
      // The new password is checked before the code, so a weak-password answer says nothing about the code.
      const password = newPassword(b.newPassword, 'the first login must set a password: newPassword')
      const setup = this.#setup
      if (setup === undefined || this.#setupClaimed || !setup.matches(b.setupCode)) return this.#fail(address, 'wrong or already used setup code')
      this.#setupClaimed = true
      try {
        await writeAdminHash(this.#opts.dataDir, await hashPassword(password))
        await setup.consume()
      } catch (err) {
        this.#setupClaimed = false
        throw err
      }
      this.#setup = undefined
      this.#opts.log.info({ file: adminHashPath(this.#opts.dataDir) }, 'UI admin password set with the setup code; the code is spent')
      return this.#succeed(address)
    }
    // A password exists (perhaps set by `mecha passwd` meanwhile): a setup code is void from now on.
    if (this.#setup !== undefined) { await this.#setup.consume(); this.#setup = undefined }
    if (b.setupCode !== undefined) return this.#fail(address, 'the setup code was used already: log in with the password')
    if (typeof b.password !== 'string' || b.password === '') throw new MechaError('ERR_MALFORMED_REQUEST', 'password must be a non-empty string')
    if (!await verifyPassword(b.password, hash)) return this.#fail(address, 'wrong password')
    return this.#succeed(address)
  }

  /** `{currentPassword, newPassword}`; ends every other session. */
  async changePassword (session: Session, body: unknown, address: string): Promise<void> {
    this.#checkLimit(address)
    const b = asObject(body)
    const password = newPassword(b.newPassword, 'newPassword')
    const hash = await readAdminHash(this.#opts.dataDir)
    if (typeof b.currentPassword !== 'string' || hash === undefined || !await verifyPassword(b.currentPassword, hash)) {
      this.#fail(address, 'wrong current password')
    }
    await writeAdminHash(this.#opts.dataDir, await hashPassword(password))
    this.limiter.success(address)
    this.sessions.deleteAllBut(session.id)
    this.#opts.log.info('UI admin password changed; other sessions ended')
  }

  logout (session: Session): void { this.sessions.delete(session.id) }

  close (): void { this.sessions.clear() }

  #checkLimit (address: string): void {
    const ms = this.limiter.retryAfterMs(address)
    if (ms > 0) {
      const retryAfterSeconds = Math.ceil(ms / 1000)
      throw new MechaError('MECHA_ERR_UI_RATE_LIMITED', `too many failed logins: try again in ${retryAfterSeconds} s`, { details: { retryAfterSeconds } })
    }
  }

  #fail (address: string, why: string): never {
    this.limiter.failure(address)
    this.#opts.log.warn({ address }, `UI login refused: ${why}`)
    throw new MechaError('MECHA_ERR_UI_AUTH', why)
  }

  #succeed (address: string): Session {
    this.limiter.success(address)
    return this.sessions.create()
  }
}

function asObject (body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}

function newPassword (value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length < MIN_PASSWORD_LENGTH) {
    throw new MechaError('MECHA_ERR_UI_PASSWORD_WEAK', `${what} must have at least ${MIN_PASSWORD_LENGTH} characters`)
  }
  if (value.length > MAX_PASSWORD_LENGTH) throw new MechaError('MECHA_ERR_UI_PASSWORD_WEAK', `${what} must have at most ${MAX_PASSWORD_LENGTH} characters`)
  return value
}
