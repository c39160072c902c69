package core

import (
	"context"
	"time"
)

// NodeStore holds the heartbeats of the nodes sharing a database, so that
// each knows how many are alive.
type NodeStore interface {
	// Heartbeat records that node is alive now, and forgets nodes not
	// seen for an hour.
	Heartbeat(ctx context.Context, node string) error
	// LiveNodes counts the nodes whose last heartbeat is no older than
	// within (this one included, once it has beaten).
	LiveNodes(ctx context.Context, within time.Duration) (int, error)
	// ForgetNode removes node's heartbeat: a node stopping cleanly leaves
	// the count at once rather than after within.
	ForgetNode(ctx context.Context, node string) error
}
