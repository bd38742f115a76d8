package bench

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// sink is a webhook that counts the records posted to each path and keeps
// nothing else. Under Managed Instances the machine's CPUs are the limit,
// and a destination is another machine's work: a sink that costs little
// leaves the layer's own cost to be measured.
type sink struct {
	ln net.Listener

	mu     sync.Mutex
	counts map[string]int
	conns  map[net.Conn]struct{}
}

func newSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln, counts: map[string]int{}, conns: map[net.Conn]struct{}{}}
	go s.serve()
	return s, nil
}

// URL is the sink's base URL.
func (s *sink) URL() string { return "http://" + s.ln.Addr().String() }

// count is the number of records posted to path.
func (s *sink) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// Close stops the sink and its connections.
func (s *sink) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	return err
}

func (s *sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.handle(c)
	}
}

var sinkAnswer = []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

// handle reads requests with a Content-Length body, as the layer's
// webhook client sends them, and answers each with 200.
func (s *sink) handle(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		path, length, err := readRequestHead(r)
		if err != nil {
			return
		}
		if _, err := r.Discard(length); err != nil {
			return
		}
		s.mu.Lock()
		s.counts[path]++
		s.mu.Unlock()
		if _, err := c.Write(sinkAnswer); err != nil {
			return
		}
	}
}

// readRequestHead reads a request's head and returns its path and the
// length of its body.
func readRequestHead(r *bufio.Reader) (path string, length int, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", 0, err
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != http.MethodPost {
		return "", 0, errors.New("sink: not a POST")
	}
	path = f[1]
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", 0, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return path, length, nil
		}
		k, v, _ := strings.Cut(line, ":")
		switch {
		case strings.EqualFold(k, "Content-Length"):
			if length, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return "", 0, err
			}
		case strings.EqualFold(k, "Transfer-Encoding"):
			return "", 0, errors.New("sink: a chunked body, which the layer does not send")
		}
	}
}
