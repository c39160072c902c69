package core

import (
	"strconv"
	"strings"
)

// ChangeKind names what kind of record changed.
type ChangeKind byte

// Kinds of change. Caches drop what a change names; ChangeAll drops
// everything (sent after a node missed notifications).
const (
	ChangeAll        ChangeKind = '*'
	ChangeAPIKey     ChangeKind = 'k' // ID: key
	ChangeUser       ChangeKind = 'u' // ID: user (disabled, deleted)
	ChangeMembership ChangeKind = 'm' // ID: organization, ID2: user
	ChangeProject    ChangeKind = 'p' // ID: project
	ChangeLicense    ChangeKind = 'l' // ID: license
	ChangeDomain     ChangeKind = 'd' // ID: project (domains are cached per project)
	ChangeInjectable ChangeKind = 'i' // ID: project
	ChangeCatalog    ChangeKind = 'c' // ID: project: something under it changed (cached reads are stale)
	ChangeWebhooks   ChangeKind = 'w' // ID: organization: its webhook endpoints changed
	ChangeSigning    ChangeKind = 'g' // the instance's signing keys (no ID)
)

// Change names a record whose cached copies are stale. Writes publish
// changes inside their transaction; every node (this one synchronously,
// others through the store's notification channel) drops what they name.
type Change struct {
	Kind ChangeKind
	ID   int64
	ID2  int64
}

// String encodes c compactly for a notification payload: "k:12", "m:3:7".
func (c Change) String() string {
	s := string(c.Kind) + ":" + strconv.FormatInt(c.ID, 10)
	if c.ID2 != 0 {
		s += ":" + strconv.FormatInt(c.ID2, 10)
	}
	return s
}

// ParseChange decodes String's output; ok is false for anything else.
func ParseChange(s string) (Change, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) != 1 {
		return Change{}, false
	}
	c := Change{Kind: ChangeKind(parts[0][0])}
	switch c.Kind {
	case ChangeAll, ChangeAPIKey, ChangeUser, ChangeMembership, ChangeProject, ChangeLicense, ChangeDomain, ChangeInjectable, ChangeCatalog, ChangeWebhooks, ChangeSigning:
	default:
		return Change{}, false
	}
	var err error
	if c.ID, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return Change{}, false
	}
	if len(parts) == 3 {
		if c.ID2, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
			return Change{}, false
		}
	}
	return c, true
}
