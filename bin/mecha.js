#!/usr/bin/env node
// `npx mecha`: runs the TypeScript sources through tsx (a dependency-free path is the single executable).
import { register } from 'tsx/esm/api'
register()
await import('../edge/main.ts')
