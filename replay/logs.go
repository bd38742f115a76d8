package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Limits of a log line, and of the lines looked at to mend one.
const (
	maxLineBytes = 256 << 20
	maxMendLines = 64
)

// ReadLog reads the execution records in a function's log and gives each
// to each, in the order of the log. It takes the shapes the tools give:
//
//   - lines as the function wrote them (sam local, the emulator, `sam logs`
//     and `aws logs tail`, which put a stream name or a time first, a
//     CloudWatch Logs export, gzipped or not): the record of a `stdout`
//     line, of an "undelivered record" or "oversize record" line, or any
//     native record a line holds, in JSON or in a JSON string;
//   - the JSON document of `aws logs filter-log-events --output json` or
//     `get-log-events`: records in the events' messages.
//
// A record cut short (CloudWatch Logs keeps 256 KB of a line) is given as
// a Found with Err set, never dropped. It returns the number of lines.
func ReadLog(r io.Reader, each func(Found)) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("reading gzip: %w", err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	lr := &lineReader{r: br, emulator: newEmulatorLine()}
	first, err := lr.peek(0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if t := string(bytes.TrimSpace(first)); t == "{" || t == "[" {
		// A pretty-printed JSON document, as the AWS CLI writes them.
		return readDocument(io.MultiReader(lr.buffered(), br), each)
	}
	return readLines(lr, each)
}

// readLines reads a log line by line.
func readLines(lr *lineReader, each func(Found)) (int, error) {
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			return lr.n, nil
		}
		if err != nil {
			return lr.n, err
		}
		if !mayHoldRecord(line) && !isRecordLine(line) {
			continue
		}
		n := lr.n
		where := at("line", n)
		var raw []byte
		if i := bytes.IndexByte(line, '{'); i >= 0 {
			raw = jsonAt(line[i:])
			if raw == nil {
				raw = lr.mend(line[i:])
			}
		}
		if raw == nil {
			if looksLikeRecord(line) || isRecordLine(line) {
				each(Found{Where: where, Unit: n, Err: errCut})
			}
			continue
		}
		give(raw, where, n, each)
	}
}

// jsonAt is the JSON value b starts with, nil when there is none: most
// often the line is that value, which is only checked, not copied.
func jsonAt(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	if raw, ok := firstValue(b); ok {
		return raw
	}
	return nil
}

// isRecordLine tells a line of the layer's that carries a record: its
// "record" key may be all that a piece cut short of the record shows.
func isRecordLine(line []byte) bool {
	i := bytes.IndexByte(line, '{')
	return i >= 0 && bytes.HasPrefix(line[i:], []byte(`{"time":`)) && bytes.Contains(line, []byte(`"record":`))
}

// give hands out the records found in raw, and the broken ones.
func give(raw []byte, where string, unit int, each func(Found)) {
	for _, f := range foundIn(raw, where, unit) {
		each(f)
	}
}

// readDocument reads JSON values, streaming through the arrays they hold
// (the events of the AWS CLI's answers) one element at a time, each named
// by its place: events[3].
func readDocument(r io.Reader, each func(Found)) (int, error) {
	d := &document{dec: json.NewDecoder(r), each: each}
	for {
		tok, err := d.dec.Token()
		if errors.Is(err, io.EOF) {
			return d.elements, nil
		}
		if err == nil {
			err = d.value(tok, "")
		}
		if err != nil {
			return d.elements, fmt.Errorf("reading the JSON document: %w", err)
		}
	}
}

type document struct {
	dec      *json.Decoder
	each     func(Found)
	elements int
}

// value reads the value that begins with tok, named name.
func (d *document) value(tok json.Token, name string) error {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			for i := 0; d.dec.More(); i++ {
				var raw json.RawMessage
				if err := d.dec.Decode(&raw); err != nil {
					return err
				}
				d.elements++
				if mayHoldRecord(raw) {
					give(raw, name+"["+strconv.Itoa(i)+"]", d.elements, d.each)
				}
			}
			_, err := d.dec.Token()
			return err
		}
		for d.dec.More() {
			key, err := d.dec.Token()
			if err != nil {
				return err
			}
			next, err := d.dec.Token()
			if err != nil {
				return err
			}
			k, _ := key.(string)
			if err := d.value(next, k); err != nil {
				return err
			}
		}
		_, err := d.dec.Token()
		return err
	case string:
		if mayHoldRecord([]byte(t)) {
			raw, _ := json.Marshal(t)
			give(raw, name, d.elements, d.each)
		}
	}
	return nil
}

// lineReader reads lines, and looks ahead of the current one to mend it.
type lineReader struct {
	r        *bufio.Reader
	ahead    [][]byte // read but not handed out yet
	n        int      // lines handed out
	emulator *regexp.Regexp
}

// read reads one line from r, without its end of line.
func (l *lineReader) read() ([]byte, error) {
	var line []byte
	for {
		part, err := l.r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxLineBytes {
			return nil, fmt.Errorf("line %d is longer than %d bytes", l.n+len(l.ahead)+1, maxLineBytes)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, io.EOF) && len(line) > 0:
			return bytes.TrimRight(line, "\r"), nil
		default:
			return nil, err
		}
	}
}

// peek returns the i-th line after those handed out, without taking it.
func (l *lineReader) peek(i int) ([]byte, error) {
	for len(l.ahead) <= i {
		line, err := l.read()
		if err != nil {
			return nil, err
		}
		l.ahead = append(l.ahead, line)
	}
	return l.ahead[i], nil
}

// next hands out the next line.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.peek(0)
	if err != nil {
		return nil, err
	}
	l.ahead = l.ahead[1:]
	l.n++
	return line, nil
}

// buffered gives back the lines looked ahead at, as text.
func (l *lineReader) buffered() io.Reader {
	return bytes.NewReader(bytes.Join(append(l.ahead, nil), []byte("\n")))
}

// mend joins the pieces of a JSON line that other lines cut: a line
// longer than a pipe's buffer reaches the log in pieces, and the
// emulator's own lines (sam local's too) can land between them, whole or
// at the end of a piece. The lines used are taken; nil when the pieces
// make no JSON text within maxMendLines lines.
func (l *lineReader) mend(first []byte) []byte {
	b := append([]byte(nil), l.own(first)...)
	for i := 0; i < maxMendLines; i++ {
		piece, err := l.peek(i)
		if err != nil {
			return nil
		}
		if loc := l.emulatorLine(piece); loc != nil && loc[0] == 0 {
			continue
		}
		b = append(b, l.own(piece)...)
		if json.Valid(b) {
			for range i + 1 {
				l.next()
			}
			return b
		}
	}
	return nil
}

// own is a piece without the emulator's line that follows it.
func (l *lineReader) own(piece []byte) []byte {
	if loc := l.emulatorLine(piece); loc != nil && loc[0] > 0 {
		return piece[:loc[0]]
	}
	return piece
}

// emulatorLine is where a line of the emulator's starts in piece, or nil.
// Most pieces are checked for the words first, which is cheaper.
func (l *lineReader) emulatorLine(piece []byte) []int {
	if !bytes.Contains(piece, []byte("(rapid) ")) && !bytes.Contains(piece, []byte("RequestId: ")) {
		return nil
	}
	return l.emulator.FindIndex(piece)
}

// newEmulatorLine matches the start of a line the emulator logs itself:
// "26 Nov 2026 22:42:04,141 [INFO] (rapid) …" and START, END and REPORT.
func newEmulatorLine() *regexp.Regexp {
	return regexp.MustCompile(`\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2},\d{3} \[\w+\] \(rapid\) |(START|END|REPORT) RequestId: `)
}
