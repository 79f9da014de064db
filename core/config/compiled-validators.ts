/**
 * The compiled config validators. From source, ajv compiles them here when this module loads (~100 ms). The
 * executable never runs this file: build/esbuild-plugins.ts (`configValidatorsPlugin`) replaces it with ajv's
 * standalone code for the same schemas and options, generated at build time, so the runtime starts without
 * compiling a schema and the bundle carries no ajv compiler. test/config/standalone.test.ts checks that both
 * accept, fill and reject the same configs with the same problems.
 */
import type { ValidateFunction } from 'ajv'
import { configAjv, VALIDATORS } from './config-ajv.ts'

const ajv = configAjv()

export const validateConfig: ValidateFunction = ajv.getSchema(VALIDATORS.validateConfig)!
export const validateCloud: ValidateFunction = ajv.getSchema(VALIDATORS.validateCloud)!
