package core

import "testing"

func TestChurnAllows(t *testing.T) {
	tests := []struct {
		name         string
		c            ChurnCount
		free, perDay int64
		want         bool
		charged      int64
	}{
		{"no limit", ChurnCount{Today: 100}, 0, 0, true, 100},
		{"first, nothing free", ChurnCount{}, 0, 1, true, 0},
		{"second, nothing free", ChurnCount{Today: 1, Live: 1}, 0, 1, false, 1},
		{"free ones today", ChurnCount{Today: 1, Live: 1}, 2, 1, true, 0},
		{"last free today", ChurnCount{Today: 2, Live: 2}, 2, 1, true, 0},
		{"first charged today", ChurnCount{Today: 3, Live: 3}, 2, 1, false, 1},
		{"free used on earlier days", ChurnCount{Before: 2, Live: 2}, 2, 1, true, 0},
		{"charged after earlier free", ChurnCount{Before: 2, Today: 1, Live: 3}, 2, 1, false, 1},
		{"deletions give nothing back", ChurnCount{Before: 2, Today: 1, Live: 0}, 2, 1, false, 1},
		{"uncounted old activations", ChurnCount{Live: 3}, 2, 1, true, 0},
		{"uncounted old, one new", ChurnCount{Today: 1, Live: 4}, 2, 1, false, 1},
		{"half free today", ChurnCount{Before: 1, Today: 2, Live: 3}, 2, 2, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Allows(tt.free, tt.perDay); got != tt.want {
				t.Errorf("Allows = %v, want %v", got, tt.want)
			}
			if got := tt.c.ChargedToday(tt.free); got != tt.charged {
				t.Errorf("ChargedToday = %d, want %d", got, tt.charged)
			}
		})
	}
}
