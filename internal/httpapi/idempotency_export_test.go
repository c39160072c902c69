package httpapi

// IdempotencyFingerprint lets the external tests claim a key directly
// through the store for the very request they then send.
var IdempotencyFingerprint = idempotencyFingerprint
