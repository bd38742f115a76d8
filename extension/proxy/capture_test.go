package proxy

import (
	"bytes"
	"testing"
)

func TestCapture(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 20000) // 200 KB
	tests := []struct {
		name          string
		max           int
		contentLength int64
		writes        []int
	}{
		{"known length", 1 << 20, int64(len(data)), []int{1000, 50000, 149000}},
		{"unknown length", 1 << 20, -1, []int{1, 65535, 65536, 68928}},
		{"capped, known", 1000, int64(len(data)), []int{999, 2, 198999}},
		{"capped, unknown", 70000, -1, []int{60000, 20000, 120000}},
		{"wrong length announced", 1 << 20, 10, []int{100000, 100000}},
		{"nothing kept", 0, -1, []int{200000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(tt.max, tt.contentLength)
			off := 0
			for _, n := range tt.writes {
				if w, _ := c.Write(data[off : off+n]); w != n {
					t.Fatalf("Write returned %d, want %d", w, n)
				}
				off += n
			}
			p := c.payload()
			want := data[:min(len(data), tt.max)]
			if !bytes.Equal(p.Join(), want) || p.Size != int64(len(data)) || p.Truncated != (tt.max < len(data)) {
				t.Errorf("kept %d bytes (equal %v), size %d, truncated %v", p.Len(), bytes.Equal(p.Join(), want), p.Size, p.Truncated)
			}
			if p.Bytes != nil && p.Parts != nil {
				t.Errorf("both Bytes and Parts set")
			}
			if p.Len() > chunkSize && tt.contentLength < 0 && p.Parts == nil {
				t.Errorf("a large body of unknown length was joined")
			}
		})
	}
}
