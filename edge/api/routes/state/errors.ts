// Moved to the transport-agnostic service layer (edge/services/state); kept so existing imports hold.
export * from '../../../services/state/errors.ts'
