package redisstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLeaseMillisRounding(t *testing.T) {
	tests := []struct {
		name        string
		d           time.Duration
		ceil, floor int64
	}{
		{name: "zero", d: 0, ceil: 0, floor: 0},
		{name: "whole", d: 3 * time.Millisecond, ceil: 3, floor: 3},
		{name: "past a whole", d: 3*time.Millisecond + 1, ceil: 4, floor: 3},
		{name: "negative whole", d: -3 * time.Millisecond, ceil: -3, floor: -3},
		{name: "negative past a whole", d: -3*time.Millisecond - 1, ceil: -3, floor: -4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.ceil, ceilMillis(tc.d))
			assert.Equal(t, tc.floor, floorMillis(tc.d))
		})
	}
}
