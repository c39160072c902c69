package store

import (
	"context"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

// AppendAudit inserts e.
func (s *Store) AppendAudit(ctx context.Context, e *core.AuditEvent) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.clock()
	}
	e.CreatedAt = ts(e.CreatedAt)
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO audit_events (org_id, actor_type, actor_id, actor_label, action, target_type, target_id,
		                           project_id, ip, user_agent, details, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		e.OrgID, e.ActorType, e.ActorID, e.ActorLabel, e.Action, e.TargetType, e.TargetID,
		e.ProjectID, e.IP, e.UserAgent, jsonArg(e.Details, "{}"), e.CreatedAt).Scan(&e.ID)
	return s.wrap(err, "append audit")
}

// ListAudit returns events newest first.
func (s *Store) ListAudit(ctx context.Context, f core.AuditFilter) ([]core.AuditEvent, error) {
	var args argList
	q := `SELECT id, org_id, actor_type, actor_id, actor_label, action, target_type, target_id, project_id,
	             ip, user_agent, details, created_at
	        FROM audit_events WHERE org_id = ` + args.add(f.OrgID)
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			q += ` AND action LIKE ` + args.add(escapeLike(f.Action)+"%") + ` ESCAPE '\'`
		} else {
			q += ` AND action = ` + args.add(f.Action)
		}
	}
	if f.ActorType != "" {
		q += ` AND actor_type = ` + args.add(f.ActorType)
	}
	if f.ActorID != 0 {
		q += ` AND actor_id = ` + args.add(f.ActorID)
	}
	if f.TargetType != "" {
		q += ` AND target_type = ` + args.add(f.TargetType)
	}
	if f.TargetID != 0 {
		q += ` AND target_id = ` + args.add(f.TargetID)
	}
	if f.ProjectID != 0 {
		q += ` AND project_id = ` + args.add(f.ProjectID)
	}
	if f.Since != nil {
		q += ` AND created_at >= ` + args.add(ts(*f.Since))
	}
	if f.Until != nil {
		q += ` AND created_at < ` + args.add(ts(*f.Until))
	}
	if f.BeforeID != 0 {
		q += ` AND id < ` + args.add(f.BeforeID)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(limit(f.Limit, 50, 1000))
	rows, err := s.r().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err, "list audit")
	}
	defer rows.Close()
	var out []core.AuditEvent
	for rows.Next() {
		var e core.AuditEvent
		var details []byte
		if err := rows.Scan(&e.ID, &e.OrgID, &e.ActorType, &e.ActorID, &e.ActorLabel, &e.Action, &e.TargetType,
			&e.TargetID, &e.ProjectID, &e.IP, &e.UserAgent, &details, utc{&e.CreatedAt}); err != nil {
			return nil, s.wrap(err, "list audit")
		}
		e.Details = details
		out = append(out, e)
	}
	return out, s.wrap(rows.Err(), "list audit")
}

// escapeLike escapes the LIKE wildcards of s.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
