package awsdest

import (
	"fmt"
	"testing"
)

func TestSplit(t *testing.T) {
	sizes := []int{5, 5, 5, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	tests := []struct {
		entries, bytes int
		want           string
	}{
		{10, 100, "[[0 1 2 3 4 5 6 7 8 9] [10 11 12 13 14]]"},
		{10, 10, "[[0 1] [2] [3 4] [5 6 7 8 9 10 11 12 13 14]]"},
		{3, 10, "[[0 1] [2] [3 4] [5 6 7] [8 9 10] [11 12 13] [14]]"},
		{10, 4, "[[0] [1] [2] [3] [4 5 6 7] [8 9 10 11] [12 13 14]]"}, // an entry over the limit goes alone
	}
	for _, tt := range tests {
		got := split(idx, func(i int) int { return sizes[i] }, tt.entries, tt.bytes)
		if s := fmt.Sprint(got); s != tt.want {
			t.Errorf("split(%d entries, %d bytes) = %s, want %s", tt.entries, tt.bytes, s, tt.want)
		}
	}
}
