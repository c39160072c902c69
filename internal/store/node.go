package store

import (
	"context"
	"time"
)

// forgetNodesAfter is when a silent node's row is deleted: long after any
// count's window, so that the table holds only recent nodes.
const forgetNodesAfter = time.Hour

// Heartbeat records that node is alive now, and forgets long-silent
// nodes. It writes outside any group commit's transaction so that a busy
// writer never delays it for long: both statements are idempotent.
func (s *Store) Heartbeat(ctx context.Context, node string) error {
	now := s.clock()
	if _, err := s.w().ExecContext(ctx, `INSERT INTO nodes (id, seen_at) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, node, now); err != nil {
		return s.wrap(err, "record heartbeat")
	}
	_, err := s.w().ExecContext(ctx, `DELETE FROM nodes WHERE seen_at < $1`, now.Add(-forgetNodesAfter))
	return s.wrap(err, "forget silent nodes")
}

// LiveNodes counts the nodes seen within the last within.
func (s *Store) LiveNodes(ctx context.Context, within time.Duration) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT count(*) FROM nodes WHERE seen_at >= $1`, s.clock().Add(-within)).Scan(&n)
	return n, s.wrap(err, "count live nodes")
}

// ForgetNode removes node's heartbeat.
func (s *Store) ForgetNode(ctx context.Context, node string) error {
	_, err := s.w().ExecContext(ctx, `DELETE FROM nodes WHERE id = $1`, node)
	return s.wrap(err, "forget node")
}
