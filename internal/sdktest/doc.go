// Package sdktest holds the tests of the Go SDK (module
// github.com/latchkey/latchkey/client) that need the server: they run
// `latchkey serve` in the process, on SQLite and PostgreSQL, and drive it
// through the SDK only, or compare the SDK's offline verification and
// constants with the server's own code. They live in the server's module
// because the SDK's module may import nothing but the standard library;
// the SDK's stdlib-only tests stay in client/.
package sdktest
