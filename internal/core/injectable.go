package core

import (
	"encoding/json"
	"time"
)

// InjectableTypes lists the allowed injectable types, exactly as DevPayr.
var InjectableTypes = []string{"file", "snippet", "html", "script", "component", "config",
	"json", "markdown", "css", "include", "sdk_module", "docs", "template"}

// InjectableModes lists the allowed injectable modes, exactly as DevPayr.
var InjectableModes = []string{"inject", "write", "replace", "symlink", "append", "prepend",
	"mount", "inline_render", "stream"}

// Injectable is an encrypted payload delivered to validated copies. The
// plaintext and the secret are never stored.
type Injectable struct {
	ID               int64
	ProjectID        int64
	Title            string
	Slug             string
	Type             string
	Mode             string
	TargetPath       string
	ValidateEndpoint *string
	EncryptedContent string // DevPayr payload format, see licensing.EncryptInjectable
	FilePath         *string
	ContentHash      string
	Signature        string
	OnlyIfPaid       bool
	IsActive         bool
	Meta             json.RawMessage
	LastDeliveredAt  *time.Time
	CreatedBy        int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// InjectableFilter selects injectables of a project, oldest first.
type InjectableFilter struct {
	ProjectID  int64
	OnlyActive bool
	AfterID    int64
	Limit      int
}

// InjectableUpdate changes the fields that are set.
type InjectableUpdate struct {
	Title            *string
	Slug             *string
	Type             *string
	Mode             *string
	TargetPath       *string
	ValidateEndpoint **string
	EncryptedContent *string
	FilePath         **string
	ContentHash      *string
	Signature        *string
	OnlyIfPaid       *bool
	IsActive         *bool
	Meta             *json.RawMessage
}
