/**
 * The bridge resolves the `cloud:` section it is given (written by hand in tests and benchmarks, or already
 * resolved by the config loader) with the loader's own validator, not one of its own: a second validator here
 * once refused configs that `mecha check` had accepted (backoff.minMs above maxMs, cert without key). One set of
 * checks means a section that passed `parseConfig` passes here unchanged, so the bridge never throws a config
 * error of its own.
 */
export { parseCloudConfig as resolveCloudConfig } from '../core/config/validate.ts'
