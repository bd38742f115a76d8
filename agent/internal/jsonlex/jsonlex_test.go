package jsonlex

import "testing"

func TestString(t *testing.T) {
	for _, tt := range []struct {
		in        string
		checkUTF8 bool
		end       int
		st        Status
	}{
		{`"abc"`, true, 5, OK},
		{`"abc" tail`, true, 5, OK},
		{`"a long string that is read eight bytes at a time \" and \\ still"x`, true, 66, OK},
		{`"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD834"`, true, 43, OK},
		{"\"é€𝄞\"", true, 11, OK},
		{`"abc`, true, 4, Short},
		{`"ab\`, true, 4, Short},
		{`"\u00`, true, 5, Short},
		{`"\u00g0"`, true, 5, Bad},
		{`"\x"`, true, 1, Bad},
		{"\"a\x01\"", true, 2, Bad},
		{"\"a\xff\"", true, 2, Bad},
		{"\"a\xff\"", false, 4, OK},
		{"\"a\xe2\x82", true, 4, Short},
		{"\"a\xe2\x82", false, 4, Short},
	} {
		end, st := String([]byte(tt.in), 0, tt.checkUTF8)
		if end != tt.end || st != tt.st {
			t.Errorf("String(%q, %v) = %d, %d; want %d, %d", tt.in, tt.checkUTF8, end, st, tt.end, tt.st)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, tt := range []struct {
		in  string
		end int
		st  Status
	}{
		{`0`, 1, OK}, {`-0`, 2, OK}, {`12345,`, 5, OK}, {`1.5e-3]`, 6, OK}, {`2E+10`, 5, OK},
		{`01`, 1, OK}, // a number, then a digit that is not part of it
		{`-`, 1, Short}, {`1.`, 2, Short}, {`1e`, 2, Short}, {`1e+`, 3, Short},
		{`-x`, 1, Bad}, {`1.x`, 2, Bad}, {`1ex`, 2, Bad}, {`+1`, 0, Bad}, {`.5`, 0, Bad},
	} {
		end, st := Number([]byte(tt.in), 0)
		if end != tt.end || st != tt.st {
			t.Errorf("Number(%q) = %d, %d; want %d, %d", tt.in, end, st, tt.end, tt.st)
		}
	}
}

func TestLiteral(t *testing.T) {
	for _, tt := range []struct {
		in, word string
		end      int
		st       Status
	}{
		{`true`, "true", 4, OK}, {`null,`, "null", 4, OK}, {`false}`, "false", 5, OK},
		{`tr`, "true", 2, Short}, {`nul`, "null", 3, Short}, {``, "null", 0, Short},
		{`trux`, "true", 0, Bad}, {`tx`, "true", 0, Bad}, {`nil`, "null", 0, Bad},
	} {
		end, st := Literal([]byte(tt.in), 0, tt.word)
		if end != tt.end || st != tt.st {
			t.Errorf("Literal(%q, %q) = %d, %d; want %d, %d", tt.in, tt.word, end, st, tt.end, tt.st)
		}
	}
}

// TestSpecialBytes: the lowest flagged byte is the first that needs a
// look, whatever its place among eight.
func TestSpecialBytes(t *testing.T) {
	for pos := range 8 {
		for _, c := range []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xff} {
			b := []byte("abcdefgh")
			b[pos] = c
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(b[i])
			}
			m := SpecialBytes(x)
			low := 0
			for m&(0x80<<(8*low)) == 0 && low < 8 {
				low++
			}
			if low != pos {
				t.Errorf("byte %#x at %d: lowest flagged %d", c, pos, low)
			}
		}
		if m := SpecialBytes(0x6867666564636261); m != 0 {
			t.Errorf("plain bytes flagged: %#x", m)
		}
	}
}
